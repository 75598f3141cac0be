package dev.vecnorm.bench.conform;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Optional;

/**
 * Where the ONNX cases bundled in the repository are, seen from the running tool: vecnorm.jar and the compiled
 * classes both live in bench/target, the cases in bench/src/test/resources.
 */
public final class BundledCases {

    /** The folder, relative to the repository root. */
    public static final String RELATIVE_PATH = "bench/src/test/resources/conformance/onnx";

    private BundledCases() {
    }

    /** The bundled folder when this code runs from a build of the repository; empty otherwise. */
    public static Optional<Path> folder() {
        CodeSource source = BundledCases.class.getProtectionDomain().getCodeSource();
        if (source == null) {
            return Optional.empty();
        }
        try {
            // bench/target/vecnorm.jar or bench/target/classes: two levels up is bench/.
            Path bench = Path.of(source.getLocation().toURI()).toAbsolutePath().getParent().getParent();
            Path cases = bench.resolve("src/test/resources/conformance/onnx");
            return Files.isDirectory(cases) ? Optional.of(cases) : Optional.empty();
        } catch (URISyntaxException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
