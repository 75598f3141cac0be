package consumer;

import dev.vecnorm.BatchNorm;
import java.util.Locale;

/**
 * Normalizes one channel holding 1, 2, 3, 4 (mean 2.5, biased variance 1.25) and prints which kernels ran, the
 * module it was loaded from, whether the internal kernels package is exported (it must not be), and y = (x - 2.5) / sqrt(1.25 + 1e-5).
 */
public class App {
    public static void main(String[] args) {
        BatchNorm bn = new BatchNorm(1);
        float[] y = bn.forward(new int[] {4, 1}, new float[] {1, 2, 3, 4});
        System.out.println("module: " + (BatchNorm.class.getModule().isNamed()
                ? BatchNorm.class.getModule().getName() : "unnamed"));
        System.out.println("kernels: " + dev.vecnorm.BatchNormOps.get().backend().name());
        // The kernels are internal: a module that requires the engine must not see them.
        System.out.println("internal kernels exported: "
                + BatchNorm.class.getModule().isExported("dev.vecnorm.internal.kernels"));
        StringBuilder line = new StringBuilder("y:");
        for (float v : y) {
            line.append(String.format(Locale.ROOT, " %.4f", v));
        }
        System.out.println(line);
    }
}
