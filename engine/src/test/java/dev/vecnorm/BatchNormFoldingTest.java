package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Folded conv/linear = conv/linear then batch norm, in float64, on random and adversarial statistics. */
@Tag("width-independent")
class BatchNormFoldingTest {

    private static final int N = 2;
    private static final int IN = 3;
    private static final int OUT = 4;
    private static final int H = 6;
    private static final int K = 3;
    private static final int OH = H - K + 1;

    private static float[] random(int n, double scale, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    /** conv2d, stride 1, no padding, OIHW weights, in float64. */
    private static double[] conv(float[] x, float[] w, float[] b) {
        double[] y = new double[N * OUT * OH * OH];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OUT; o++) {
                for (int i = 0; i < OH; i++) {
                    for (int j = 0; j < OH; j++) {
                        double acc = b == null ? 0 : b[o];
                        for (int c = 0; c < IN; c++) {
                            for (int u = 0; u < K; u++) {
                                for (int v = 0; v < K; v++) {
                                    acc += (double) w[((o * IN + c) * K + u) * K + v]
                                            * x[((n * IN + c) * H + i + u) * H + j + v];
                                }
                            }
                        }
                        y[((n * OUT + o) * OH + i) * OH + j] = acc;
                    }
                }
            }
        }
        return y;
    }

    private static void assertClose(double[] want, double[] got, String what) {
        double scale = 0;
        for (double v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int k = 0; k < want.length; k++) {
            // The folded weights are rounded to float once: relative error ~2^-24 per product.
            assertTrue(Math.abs(want[k] - got[k]) <= 1e-6 * (scale + Math.abs(want[k])),
                    what + "[" + k + "]: expected " + want[k] + ", got " + got[k]);
        }
    }

    private static void checkConv(float[] gamma, float[] beta, float[] mean, float[] var, double eps, float[] bias) {
        float[] x = random(N * IN * H * H, 1, 1);
        float[] w = random(OUT * IN * K * K, 0.5, 2);
        double[] y = conv(x, w, bias);
        double[] want = new double[y.length];
        for (int k = 0; k < y.length; k++) {
            int o = (k / (OH * OH)) % OUT;
            double g = gamma == null ? 1 : gamma[o];
            double b = beta == null ? 0 : beta[o];
            want[k] = (y[k] - mean[o]) / Math.sqrt(var[o] + eps) * g + b;
        }
        BatchNormFolding.Folded f = BatchNormFolding.intoPreceding(w, OUT, bias, gamma, beta, mean, var, eps);
        assertClose(want, conv(x, f.weight(), f.bias()), "folded conv");
    }

    @Test
    void foldedConvolutionEqualsConvolutionThenBatchNorm() {
        float[] mean = {0.5f, -2f, 100f, 0f};
        float[] var = {1f, 0.25f, 9f, 4f};
        checkConv(new float[] {1.5f, -0.5f, 2f, 1f}, new float[] {0.1f, 0.2f, -3f, 0f}, mean, var, 1e-5,
                random(OUT, 1, 3));
        checkConv(null, null, mean, var, 1e-5, null);
        // Adversarial: a variance far below eps, a huge gamma, a large mean.
        checkConv(new float[] {1e4f, 1f, 1f, 1f}, null, new float[] {1e3f, 0f, 0f, 0f},
                new float[] {1e-12f, 0f, 1e-30f, 1f}, 1e-5, random(OUT, 1, 4));
    }

    @Test
    void foldedLinearEqualsBatchNormThenLinear() {
        int in = 5;
        int out = 3;
        float[] w = random(out * in, 1, 5);
        float[] bias = random(out, 1, 6);
        float[] gamma = {2f, 0.5f, 1f, -1f, 1e3f};
        float[] beta = {0f, 1f, -1f, 3f, 0.5f};
        float[] mean = {0f, 10f, -3f, 0.5f, 1f};
        float[] var = {1f, 4f, 1e-9f, 0.1f, 2f};
        double eps = 1e-3;
        float[] x = random(7 * in, 2, 7);
        BatchNormFolding.Folded f = BatchNormFolding.intoFollowingLinear(w, out, bias, gamma, beta, mean, var, eps);
        double[] want = new double[7 * out];
        double[] got = new double[7 * out];
        for (int r = 0; r < 7; r++) {
            for (int o = 0; o < out; o++) {
                double a = bias[o];
                double b = f.bias()[o];
                for (int i = 0; i < in; i++) {
                    double bn = ((double) x[r * in + i] - mean[i]) / Math.sqrt(var[i] + eps) * gamma[i] + beta[i];
                    a += w[o * in + i] * bn;
                    b += (double) f.weight()[o * in + i] * x[r * in + i];
                }
                want[r * out + o] = a;
                got[r * out + o] = b;
            }
        }
        assertClose(want, got, "folded linear");
    }

    @Test
    void refusesWhatCannotBeFolded() {
        float[] w = new float[OUT * 2];
        float[] ones = {1, 1, 1, 1};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchNormFolding.intoPreceding(w, OUT, null, null, null, null, null, 1e-5));
        assertTrue(e.getMessage().contains("running statistics"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BatchNormFolding.intoPreceding(w, OUT, null, null,
                null, ones, new float[] {1, -1, 1, 1}, 1e-5));
        assertTrue(e.getMessage().contains("runningVar[1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BatchNormFolding.intoPreceding(w, OUT, null, null,
                null, ones, new float[] {1, 1, 0, 1}, 0.0));
        assertTrue(e.getMessage().contains("runningVar[2] + eps is 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BatchNormFolding.intoPreceding(new float[7], OUT,
                null, null, null, ones, ones, 1e-5));
        assertTrue(e.getMessage().contains("multiple of outChannels=4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BatchNormFolding.intoPreceding(w, OUT, null, null, null,
                ones, ones, Double.NaN));
    }
}
