package dev.vecnorm.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.BatchNorm;
import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import dev.vecnorm.testing.Tolerance;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Starts a JVM without {@code --add-modules jdk.incubator.vector} on the test class path: the library must still
 * work, on its scalar kernels, and say so in exactly one warning.
 */
class FallbackTest {

    /** Entry point of the child JVM: exercises the library several times and prints what it saw. */
    public static void main(String[] args) {
        int[] dims = {8, 3, 6, 6};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 1);
        double[] expected = Float64Reference.training(sh, x, null, null, 1e-5).y();
        boolean agree = true;
        for (int step = 0; step < 3; step++) {
            float[] y = new BatchNorm(3).forward(dims, x);
            for (int i = 0; i < y.length; i++) {
                agree &= Tolerance.close(expected[i], y[i], Tolerance.RELATIVE);
            }
        }
        System.out.println("kernels=" + Kernels.preferred().name());
        System.out.println("vectorAvailable=" + Kernels.vector().isPresent());
        System.out.println("agree=" + agree);
    }

    @Test
    void scalarKernelsServeWithOneWarningWithoutTheModule() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                FallbackTest.class.getName()));
        Process p = new ProcessBuilder(command).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "child failed: " + out + err);
        assertTrue(out.contains("kernels=scalar"), out);
        assertTrue(out.contains("vectorAvailable=false"), out);
        assertTrue(out.contains("agree=true"), out);
        long warnings = err.lines().filter(l -> l.contains("vecnorm runs its scalar kernels")).count();
        assertEquals(1, warnings, "stderr: " + err);
        assertTrue(err.contains("--add-modules jdk.incubator.vector"), err);
        assertTrue(!err.contains("Using incubator modules"), "the child must run without the module: " + err);
    }
}
