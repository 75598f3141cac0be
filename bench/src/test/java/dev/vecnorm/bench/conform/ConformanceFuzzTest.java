package dev.vecnorm.bench.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.vecnorm.BatchNormOps;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Case folders come from users too: a case.json or .npy file that is truncated, has flipped bytes or holds
 * nonsense gives an Outcome (ERROR with a reason, or FAIL), never an exception out of the runner or a hang.
 */
@Tag("width-independent")
class ConformanceFuzzTest {

    @TempDir
    Path root;

    private static Path source(String name) throws URISyntaxException {
        return Path.of(ConformanceFuzzTest.class.getResource("/conformance/onnx/" + name).toURI());
    }

    private Path copy(String name, int round) throws IOException, URISyntaxException {
        Path dir = root.resolve(name + "-" + round);
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(source(name))) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private static Conformance.Outcome run(Path dir, String what) {
        return assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> new Conformance(Conformance.DEFAULT_ATOL, Conformance.DEFAULT_RTOL, BatchNormOps.get())
                        .run(dir), what);
    }

    @Test
    void damagedFilesGiveAnOutcomeNotAnException() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        for (String name : List.of("test_batchnorm_example_training_mode", "test_batchnorm_epsilon")) {
            assertEquals(Conformance.Status.PASS, run(copy(name, -1), "intact " + name).status());
            for (int round = 0; round < 60; round++) {
                Path dir = copy(name, round);
                List<Path> files;
                try (Stream<Path> s = Files.list(dir)) {
                    files = s.sorted().toList();
                }
                Path victim = files.get(r.nextInt(files.size()));
                byte[] bytes = Files.readAllBytes(victim);
                switch (r.nextInt(3)) {
                    case 0 -> bytes = java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length + 1));
                    case 1 -> {
                        for (int f = 0; f < 1 + r.nextInt(6); f++) {
                            if (bytes.length > 0) {
                                bytes[r.nextInt(Math.min(bytes.length, 120))] = (byte) r.nextInt(256);
                            }
                        }
                    }
                    default -> bytes = "{\"op\": [1, {\"a\": null}], \"inputs\": \"x\", \"attributes\": 7}"
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                }
                Files.write(victim, bytes);
                String what = name + " round " + round + " " + victim.getFileName();
                Conformance.Outcome o = run(dir, what);
                assertNotNull(o, what);
                if (o.status() == Conformance.Status.ERROR) {
                    assertFalse(o.line().isBlank(), what);
                }
            }
        }
    }
}
