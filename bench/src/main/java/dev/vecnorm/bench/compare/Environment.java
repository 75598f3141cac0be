package dev.vecnorm.bench.compare;

import dev.vecnorm.internal.kernels.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/** The facts a benchmark report must carry: JDK, CPU model, cores, vector width, date. */
final class Environment {

    private Environment() {
    }

    static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown CPU");
        } catch (IOException e) {
            return "unknown CPU";
        }
    }

    static String describe(int threads) {
        return "JDK " + Runtime.version() + ", " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors()
                + " cores, kernels " + Kernels.vector().map(k -> k.name()).orElse("scalar") + ", threads " + threads
                + ", " + LocalDate.now();
    }
}
