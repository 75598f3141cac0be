package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** GroupNorm (and InstanceNorm as G = C) forward and backward against a float64 computation. */
class GroupNormTest {

    /** {N, C, spatial...} and G: groups of several channels, instance norm, rank 2 and 3, short and long runs. */
    private static final int[][] SHAPES = {{2, 6, 4, 4}, {3, 4, 7}, {2, 8, 5, 5}, {4, 6}, {2, 32, 8, 8},
        {1, 4, 33, 33}};
    private static final int[] GROUPS = {3, 2, 8, 3, 32, 2};

    static List<BatchNormKernels> implementations() {
        List<BatchNormKernels> all = new ArrayList<>();
        all.add(Kernels.scalar());
        Kernels.vector().ifPresent(all::add);
        return all;
    }

    /** Float64 group norm: y, mean and invStd per (n, g), and the backward for dy. */
    record Reference(double[] y, double[] mean, double[] invStd, double[] dx, double[] dgamma,
            double[] dbeta) {
    }

    /**
     * Forward from exact statistics; backward, as the API defines it, from the saved (float) statistics when
     * given (savedMean, savedInvStd non-null), so that rounding the saved mean of offset data is not blamed on dx.
     */
    static Reference reference(int[] dims, int groups, float[] x, float[] dy, float[] gamma, float[] beta,
            double eps, float[] savedMean, float[] savedInvStd) {
        NcsShape sh = NcsShape.of(dims);
        int n = sh.n();
        int c = sh.c();
        int s = sh.s();
        int cg = c / groups;
        int m = cg * s;
        double[] mean = new double[n * groups];
        double[] invStd = new double[n * groups];
        double[] y = new double[x.length];
        double[] dx = new double[x.length];
        double[] dgamma = new double[c];
        double[] dbeta = new double[c];
        for (int i = 0; i < n; i++) {
            for (int g = 0; g < groups; g++) {
                int from = (i * c + g * cg) * s;
                double sum = 0;
                for (int k = 0; k < m; k++) {
                    sum += x[from + k];
                }
                double mu = sum / m;
                double sq = 0;
                for (int k = 0; k < m; k++) {
                    sq += (x[from + k] - mu) * (x[from + k] - mu);
                }
                double r = 1 / Math.sqrt(sq / m + eps);
                mean[i * groups + g] = mu;
                invStd[i * groups + g] = r;
                double yMu = mu;
                double yR = r;
                if (savedMean != null) {
                    mu = savedMean[i * groups + g];
                    r = savedInvStd[i * groups + g];
                }
                double sumG = 0;
                double sumGXhat = 0;
                for (int k = 0; k < m; k++) {
                    int ch = g * cg + k / s;
                    double xhat = (x[from + k] - mu) * r;
                    y[from + k] = (x[from + k] - yMu) * yR * gamma[ch] + beta[ch];
                    double gk = (double) dy[from + k] * gamma[ch];
                    sumG += gk;
                    sumGXhat += gk * xhat;
                    dgamma[ch] += dy[from + k] * xhat;
                    dbeta[ch] += dy[from + k];
                }
                for (int k = 0; k < m; k++) {
                    int ch = g * cg + k / s;
                    double xhat = (x[from + k] - mu) * r;
                    dx[from + k] = r / m * ((double) m * dy[from + k] * gamma[ch] - sumG - xhat * sumGXhat);
                }
            }
        }
        return new Reference(y, mean, invStd, dx, dgamma, dbeta);
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void forwardAndBackwardMatchFloat64(BatchNormKernels kernels) {
        GroupNormOps ops = GroupNormOps.using(TestBackends.of(kernels));
        for (int t = 0; t < SHAPES.length; t++) {
            int[] dims = SHAPES[t];
            int groups = GROUPS[t];
            NcsShape sh = NcsShape.of(dims);
            for (Distribution dist : new Distribution[] {Distribution.NORMAL, Distribution.LARGE_OFFSET,
                Distribution.MIXTURE, Distribution.SPARSE_TINY, Distribution.HEAVY_TAILS, Distribution.CONSTANT}) {
                float[] x = dist.tensor(sh, 7 + t);
                float[] dy = Distribution.NORMAL.tensor(sh, 17 + t);
                float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 3);
                float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 4);
                float[] y = new float[x.length];
                float[] mean = new float[sh.n() * groups];
                float[] invStd = new float[sh.n() * groups];
                ops.forward(dims, groups, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                Reference want = reference(dims, groups, x, dy, gamma, beta, 1e-5, mean, invStd);
                String tag = kernels.name() + " " + java.util.Arrays.toString(dims) + " G=" + groups + " " + dist;
                Tolerance.assertClose(tag + " y", want.y(), y);
                Tolerance.assertClose(tag + " invStd", want.invStd(), invStd);
                float[] dx = new float[x.length];
                float[] dgamma = new float[sh.c()];
                float[] dbeta = new float[sh.c()];
                ops.backward(dims, groups, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                Tolerance.assertClose(tag + " dx", want.dx(), dx);
                double[] scale = new double[sh.c()];
                java.util.Arrays.fill(scale, Math.sqrt(sh.n() * sh.s()));
                Tolerance.assertCloseScaled(tag + " dgamma", want.dgamma(), dgamma, scale);
                Tolerance.assertCloseScaled(tag + " dbeta", want.dbeta(), dbeta, scale);
            }
        }
    }

    @Test
    void groupsMustDivideChannels() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GroupNormOps.get()
                .forward(new int[] {2, 6, 3}, 4, new float[36], 0, new float[36], 0, null, null, 1e-5, null, null));
        assertTrue(e.getMessage().contains("groups must divide C = 6, got groups = 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GroupNormOps.get().forward(new int[] {2, 6, 3}, 0,
                new float[36], 0, new float[36], 0, null, null, 1e-5, null, null));
    }

    @Test
    void nullOutputOrGradientIsRejectedBeforeAnyWrite() {
        int[] dims = {2, 4, 3};
        float[] x = Distribution.NORMAL.tensor(NcsShape.of(dims), 5);
        float[] mean = {9f, 9f, 9f, 9f};
        float[] invStd = {9f, 9f, 9f, 9f};
        for (Layout layout : Layout.values()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GroupNormOps.get()
                    .forward(layout, dims, 2, x, 0, null, 0, null, null, 1e-5, mean, invStd));
            assertTrue(e.getMessage().contains("y must not be null"), e.getMessage());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {9f, 9f, 9f, 9f}, mean, "saveMean");
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {9f, 9f, 9f, 9f}, invStd, "saveInvStd");
            float[] dx = new float[x.length];
            IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> GroupNormOps.get()
                    .backward(layout, dims, 2, null, 0, x, 0, null, mean, invStd, dx, 0, null, null));
            assertTrue(d.getMessage().contains("dy must not be null"), d.getMessage());
        }
    }
}
