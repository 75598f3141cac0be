package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Backward against central finite differences of a float64 training forward. The loss is
 * {@code sum(dy * y)}, so its gradients are exactly what backward returns for upstream gradient dy.
 */
class GradientCheckTest {

    private static final double H = 1e-4;

    /** Training forward in double on double inputs, then the loss sum(dy * y). */
    private static double loss(int n, int c, int s, double[] x, double[] gamma, double[] beta, double eps,
            float[] dy) {
        double total = 0;
        int m = n * s;
        for (int ch = 0; ch < c; ch++) {
            double mean = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    mean += x[(i * c + ch) * s + j];
                }
            }
            mean /= m;
            double var = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    double d = x[(i * c + ch) * s + j] - mean;
                    var += d * d;
                }
            }
            var /= m;
            double invStd = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int k = (i * c + ch) * s + j;
                    total += dy[k] * ((x[k] - mean) * invStd * gamma[ch] + beta[ch]);
                }
            }
        }
        return total;
    }

    private static double central(java.util.function.DoubleUnaryOperator f) {
        return (f.applyAsDouble(H) - f.applyAsDouble(-H)) / (2 * H);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        List<BatchNormKernels> impls = new ArrayList<>();
        impls.add(Kernels.scalar());
        Kernels.vector().ifPresent(impls::add);
        SplittableRandom random = new SplittableRandom(2024);
        int[][] shapes = {{4, 3}, {2, 3, 5}, {3, 2, 2, 3}, {2, 2, 1, 2, 3}, {5, 1, 7}, {2, 4, 33}};
        for (int[] dims : shapes) {
            NcsShape sh = NcsShape.of(dims);
            float[] x = Distribution.NORMAL.tensor(sh, random.nextLong());
            float[] dy = Distribution.NORMAL.tensor(sh, random.nextLong());
            float[] gamma = Distribution.uniform(sh.c(), 0.5f, 1.5f, random.nextLong());
            float[] beta = Distribution.uniform(sh.c(), -1f, 1f, random.nextLong());
            double eps = 1e-3;
            double[] xd = widen(x);
            double[] gd = widen(gamma);
            double[] bd = widen(beta);
            for (BatchNormKernels k : impls) {
                BatchNormOps ops = BatchNormOps.using(TestBackends.of(k));
                float[] mean = new float[sh.c()];
                float[] invStd = new float[sh.c()];
                ops.forwardTraining(dims, x, 0, new float[sh.size()], 0, gamma, beta, eps, mean, invStd, null);
                float[] dx = new float[sh.size()];
                float[] dgamma = new float[sh.c()];
                float[] dbeta = new float[sh.c()];
                ops.backward(dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                String tag = k.name() + " " + java.util.Arrays.toString(dims);
                for (int e = 0; e < sh.size(); e++) {
                    int at = e;
                    double fd = central(h -> {
                        double[] xp = xd.clone();
                        xp[at] += h;
                        return loss(sh.n(), sh.c(), sh.s(), xp, gd, bd, eps, dy);
                    });
                    assertClose(tag + " dx[" + e + "]", fd, dx[e]);
                }
                for (int ch = 0; ch < sh.c(); ch++) {
                    int at = ch;
                    double fdGamma = central(h -> {
                        double[] gp = gd.clone();
                        gp[at] += h;
                        return loss(sh.n(), sh.c(), sh.s(), xd, gp, bd, eps, dy);
                    });
                    double fdBeta = central(h -> {
                        double[] bp = bd.clone();
                        bp[at] += h;
                        return loss(sh.n(), sh.c(), sh.s(), xd, gd, bp, eps, dy);
                    });
                    assertClose(tag + " dgamma[" + ch + "]", fdGamma, dgamma[ch]);
                    assertClose(tag + " dbeta[" + ch + "]", fdBeta, dbeta[ch]);
                }
            }
        }
    }

    private static void assertClose(String what, double expected, double actual) {
        // Central differences with h = 1e-4 in double are accurate to ~1e-7; float32 outputs to ~1e-6.
        assertTrue(Math.abs(expected - actual) <= 1e-4 * (1 + Math.abs(expected)),
                what + " = " + actual + ", finite difference " + expected);
    }

    private static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
