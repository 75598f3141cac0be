package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.Backend;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Starts a JVM without {@code --add-modules jdk.incubator.vector} on the test class path: the library must still
 * work, on its scalar kernels, and say so in exactly one warning.
 */
@Tag("width-independent")
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
        System.out.println("backend=" + Backend.preferred().name() + " vectorBackend=" + Backend.vector().isPresent()
                + " reason=" + Backend.vectorUnavailableReason().isPresent());
        System.out.println("agree=" + agree);
    }

    /** Runs {@link #main} in a JVM without the incubator module; returns exit status, stdout and stderr. */
    private static String[] child(String... jvmOptions) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FallbackTest.class.getName()));
        Process p = new ProcessBuilder(command).start();
        // Read both streams before waiting, so that a full pipe cannot stall the child.
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        return new String[] {Integer.toString(p.exitValue()), out, err};
    }

    @Test
    void forcingVectorWithoutTheModuleIsAClearError() throws IOException, InterruptedException {
        String[] r = child("-Dvecnorm.kernels=vector");
        assertTrue(!r[0].equals("0"), "the child should fail: " + r[1] + r[2]);
        assertTrue(r[2].contains("IllegalStateException") && r[2].contains("-Dvecnorm.kernels=vector")
                && r[2].contains("--add-modules jdk.incubator.vector"), r[2]);

        r = child("-Dvecnorm.kernels=fastest");
        assertTrue(r[2].contains("unknown value -Dvecnorm.kernels=fastest"), r[2]);

        r = child("-Dvecnorm.kernels=scalar");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("kernels=scalar") && r[1].contains("agree=true"), r[1]);
        assertTrue(r[1].contains("backend=scalar"), r[1]);
        assertTrue(!r[2].contains("vecnorm runs its scalar kernels"), "a forced choice warns about nothing: " + r[2]);
    }

    @Test
    void scalarKernelsServeWithOneWarningWithoutTheModule() throws IOException, InterruptedException {
        String[] r = child();
        String out = r[1];
        String err = r[2];
        assertEquals("0", r[0], "child failed: " + out + err);
        assertTrue(out.contains("kernels=scalar"), out);
        assertTrue(out.contains("vectorAvailable=false"), out);
        assertTrue(out.contains("backend=scalar vectorBackend=false reason=true"), out);
        assertTrue(out.contains("agree=true"), out);
        long warnings = err.lines().filter(l -> l.contains("vecnorm runs its scalar kernels")).count();
        assertEquals(1, warnings, "stderr: " + err);
        assertTrue(err.contains("--add-modules jdk.incubator.vector"), err);
        assertTrue(!err.contains("Using incubator modules"), "the child must run without the module: " + err);
    }
}
