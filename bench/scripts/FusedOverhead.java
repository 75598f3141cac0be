import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import java.util.Arrays;
import java.util.Random;

/**
 * What the fused ReLU costs over plain batch norm (issue 14's target: at most 5%), measured where the host's noise
 * can't hide it: relu(bn(x)) and bn(x) in alternating rounds of 10 calls in one JVM, 40 rounds, one thread, the
 * pair's order swapped every round; prints best and median ms and the fused/plain ratios.
 *
 * <pre>
 * ./vecnorm java -cp engine/target/vecnorm-engine-0.1.0-SNAPSHOT.jar bench/scripts/FusedOverhead.java SHAPE [nhwc]
 * </pre>
 * SHAPE is logical N x C x spatial...; nhwc stores it channels-last.
 */
public class FusedOverhead {
    public static void main(String[] args) {
        int[] dims = Arrays.stream(args[0].split("x")).mapToInt(Integer::parseInt).toArray();
        Layout layout = args.length > 1 && args[1].equals("nhwc") ? Layout.CHANNELS_LAST : Layout.CHANNELS_FIRST;
        int size = 1; for (int d : dims) size *= d;
        int c = dims[1];
        Random r = new Random(1);
        float[] x = new float[size], y = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) r.nextGaussian();
        float[] g = new float[c], b = new float[c], m = new float[c], v = new float[c], sm = new float[c], si = new float[c];
        for (int k = 0; k < c; k++) { g[k] = 1 + 0.1f * (k % 5); b[k] = 0.1f * (k % 3); v[k] = 1.5f; m[k] = 0.1f; }
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        Runnable[] calls = {
            () -> ops.forwardInference(layout, dims, x, 0, y, 0, g, b, m, v, 1e-5),
            () -> ops.forwardInferenceFused(layout, dims, x, 0, null, 0, y, 0, g, b, m, v, 1e-5, true),
            () -> ops.forwardTraining(layout, dims, x, 0, y, 0, g, b, 1e-5, sm, si, null),
            () -> ops.forwardTrainingFused(layout, dims, x, 0, null, 0, y, 0, g, b, 1e-5, sm, si, null, true),
        };
        String[] names = {"inference", "inference+relu", "training", "training+relu"};
        int R = 40, CALLS = 10;
        double[][] t = new double[4][R];
        for (int round = 0; round < R; round++) {
            for (int k = 0; k < 4; k++) {
                // Swap which of each pair goes first every round.
                int v2 = (round & 1) == 0 ? k : k ^ 1;
                long s = System.nanoTime();
                for (int i = 0; i < CALLS; i++) calls[v2].run();
                t[v2][round] = (System.nanoTime() - s) / 1e6 / CALLS;
            }
        }
        for (int k = 0; k < 4; k++) { double[] q = t[k].clone(); Arrays.sort(q); System.out.printf("%-15s best %.3f median %.3f%n", names[k], q[0], q[R / 2]); }
        for (int k = 0; k < 4; k += 2) {
            double[] a = t[k].clone(), f = t[k + 1].clone(); Arrays.sort(a); Arrays.sort(f);
            System.out.printf("%s fused/plain: best %.3f median %.3f%n", names[k], f[0] / a[0], f[R / 2] / a[R / 2]);
        }
    }
}
