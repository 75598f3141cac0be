package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import java.util.ArrayList;
import java.util.Arrays;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** LayerNorm and RMSNorm forward and backward against float64, over shapes, axes and hostile data. */
class LayerAndRmsNormTest {

    /** The last shape has several row blocks in forward (~64K elements each) and two in backward. */
    private static final int[][] SHAPES = {{3, 4}, {2, 5, 33}, {4, 7, 64}, {2, 3, 4, 5}, {1, 4096}, {8, 768},
        {1100, 500}};
    private static final int[] AXES = {-1, 2, -1, 1, -1, 1, -1};

    static List<BatchNormKernels> implementations() {
        List<BatchNormKernels> all = new ArrayList<>();
        all.add(Kernels.scalar());
        Kernels.vector().ifPresent(all::add);
        return all;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void layerNormMatchesFloat64(BatchNormKernels kernels) {
        LayerNormOps ops = LayerNormOps.using(TestBackends.of(kernels));
        for (int t = 0; t < SHAPES.length; t++) {
            int[] shape = SHAPES[t];
            RowNormalization rn = RowNormalization.of(shape, AXES[t]);
            int r = rn.rows();
            int d = rn.width();
            for (Distribution dist : new Distribution[] {Distribution.NORMAL, Distribution.LARGE_OFFSET,
                Distribution.HEAVY_TAILS, Distribution.SPARSE_NORMAL}) {
                float[] x = dist.tensor(new NcsShape(1, r, d), 5 + t);
                float[] dy = Distribution.NORMAL.tensor(new NcsShape(1, r, d), 6 + t);
                float[] gamma = Distribution.uniform(d, 0.5f, 2f, 7);
                float[] beta = Distribution.uniform(d, -1f, 1f, 8);
                float[] y = new float[x.length];
                float[] mean = new float[r];
                float[] invStd = new float[r];
                ops.forward(shape, AXES[t], x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                double[] wantY = new double[x.length];
                double[] wantDx = new double[x.length];
                double[] wantDg = new double[d];
                double[] wantDb = new double[d];
                double[] wantInv = new double[r];
                double[] wantMean = new double[r];
                double[] spread = new double[r];
                for (int row = 0; row < r; row++) {
                    double mu = 0;
                    for (int j = 0; j < d; j++) {
                        mu += x[row * d + j];
                    }
                    mu /= d;
                    double var = 0;
                    for (int j = 0; j < d; j++) {
                        var += (x[row * d + j] - mu) * (x[row * d + j] - mu);
                    }
                    double inv = 1 / Math.sqrt(var / d + 1e-5);
                    wantInv[row] = inv;
                    wantMean[row] = mu;
                    spread[row] = Math.sqrt(var / d);
                    // Backward from the saved (float) statistics, as the API defines it.
                    double sm = mean[row];
                    double si = invStd[row];
                    double sumG = 0;
                    double sumGXhat = 0;
                    for (int j = 0; j < d; j++) {
                        wantY[row * d + j] = (x[row * d + j] - mu) * inv * gamma[j] + beta[j];
                        double xhat = (x[row * d + j] - sm) * si;
                        double g = (double) dy[row * d + j] * gamma[j];
                        sumG += g;
                        sumGXhat += g * xhat;
                        wantDg[j] += dy[row * d + j] * xhat;
                        wantDb[j] += dy[row * d + j];
                    }
                    for (int j = 0; j < d; j++) {
                        double xhat = (x[row * d + j] - sm) * si;
                        wantDx[row * d + j] = si / d * ((double) d * dy[row * d + j] * gamma[j] - sumG - xhat * sumGXhat);
                    }
                }
                String tag = kernels.name() + " " + Arrays.toString(shape) + " axis " + AXES[t] + " " + dist;
                Tolerance.assertClose(tag + " y", wantY, y);
                Tolerance.assertCloseScaled(tag + " invStd", wantInv, invStd, new double[r]);
                Tolerance.assertCloseScaled(tag + " mean", wantMean, mean, spread);
                float[] dx = new float[x.length];
                float[] dgamma = new float[d];
                float[] dbeta = new float[d];
                ops.backward(shape, AXES[t], dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                Tolerance.assertClose(tag + " dx", wantDx, dx);
                double[] scale = new double[d];
                Arrays.fill(scale, Math.sqrt(r));
                Tolerance.assertCloseScaled(tag + " dgamma", wantDg, dgamma, scale);
                Tolerance.assertCloseScaled(tag + " dbeta", wantDb, dbeta, scale);
            }
        }
    }

    /**
     * The backward's column sums live in the calling thread's workspace, sized for dgamma's and dbeta's rows; on a
     * thread whose workspace is new (nothing larger allocated before), arrays and segments, with dbeta and then
     * without, give this thread's bits.
     */
    @ParameterizedTest
    @MethodSource("implementations")
    void backwardOnAFreshThreadSizesItsColumnSumsAndGivesTheSameBits(BatchNormKernels kernels) throws Exception {
        LayerNormOps ops = LayerNormOps.using(TestBackends.of(kernels)).singleThreaded();
        for (int[] shape : new int[][] {{6, 768}, {3, 5}}) {
            int r = shape[0];
            int d = shape[1];
            java.util.Random random = new java.util.Random(d);
            float[] x = new float[r * d];
            float[] dy = new float[r * d];
            float[] gamma = new float[d];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
                dy[i] = (float) random.nextGaussian();
            }
            Arrays.fill(gamma, 1.5f);
            float[] mean = new float[r];
            float[] invStd = new float[r];
            ops.forward(shape, -1, x, 0, new float[x.length], 0, gamma, null, 1e-5, mean, invStd);
            float[][] here = backwards(ops, shape, dy, x, gamma, mean, invStd);
            AtomicReference<Object> there = new AtomicReference<>();
            Thread fresh = new Thread(() -> {
                try {
                    there.set(backwards(ops, shape, dy, x, gamma, mean, invStd));
                } catch (Throwable e) {
                    there.set(e);
                }
            });
            fresh.start();
            fresh.join();
            if (there.get() instanceof Throwable e) {
                throw new AssertionError(kernels.name() + " " + d + ": failed on a fresh thread", e);
            }
            float[][] got = (float[][]) there.get();
            for (int k = 0; k < here.length; k++) {
                assertArrayEquals(here[k], got[k], kernels.name() + " " + d + " output " + k);
            }
        }
    }

    /** dx, dgamma, dbeta with dbeta, then dgamma without it, on arrays; then the same three on segments. */
    private static float[][] backwards(LayerNormOps ops, int[] shape, float[] dy, float[] x, float[] gamma,
            float[] mean, float[] invStd) {
        int d = shape[1];
        float[] dx = new float[x.length];
        float[] dgamma = new float[d];
        float[] dbeta = new float[d];
        ops.backward(shape, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        float[] dgammaAlone = new float[d];
        ops.backward(shape, -1, dy, 0, x, 0, gamma, mean, invStd, null, 0, dgammaAlone, null);
        float[] segmentDgamma = new float[d];
        float[] segmentDbeta = new float[d];
        float[] segmentDx;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dyS = arena.allocateFrom(ValueLayout.JAVA_FLOAT, dy);
            MemorySegment xS = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment dxS = arena.allocate(ValueLayout.JAVA_FLOAT, x.length);
            ops.backward(shape, -1, dyS, 0, xS, 0, gamma, mean, invStd, dxS, 0, segmentDgamma, segmentDbeta);
            segmentDx = dxS.toArray(ValueLayout.JAVA_FLOAT);
        }
        return new float[][] {dx, dgamma, dbeta, dgammaAlone, segmentDx, segmentDgamma, segmentDbeta};
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void rmsNormMatchesFloat64(BatchNormKernels kernels) {
        RMSNormOps ops = RMSNormOps.using(TestBackends.of(kernels));
        for (int t = 0; t < SHAPES.length; t++) {
            int[] shape = SHAPES[t];
            RowNormalization rn = RowNormalization.of(shape, AXES[t]);
            int r = rn.rows();
            int d = rn.width();
            for (Distribution dist : new Distribution[] {Distribution.NORMAL, Distribution.LARGE_OFFSET,
                Distribution.TINY, Distribution.SPARSE_NORMAL}) {
                float[] x = dist.tensor(new NcsShape(1, r, d), 9 + t);
                float[] dy = Distribution.NORMAL.tensor(new NcsShape(1, r, d), 10 + t);
                float[] gamma = Distribution.uniform(d, 0.5f, 2f, 11);
                float[] y = new float[x.length];
                float[] invRms = new float[r];
                double eps = dist == Distribution.TINY ? 0 : 1e-6;
                ops.forward(shape, AXES[t], x, 0, y, 0, gamma, eps, invRms);
                double[] wantY = new double[x.length];
                double[] wantDx = new double[x.length];
                double[] wantDg = new double[d];
                for (int row = 0; row < r; row++) {
                    double ms = 0;
                    for (int j = 0; j < d; j++) {
                        ms += (double) x[row * d + j] * x[row * d + j];
                    }
                    double inv = 1 / Math.sqrt(ms / d + eps);
                    double si = invRms[row];
                    double b = 0;
                    for (int j = 0; j < d; j++) {
                        wantY[row * d + j] = x[row * d + j] * inv * gamma[j];
                        b += (double) dy[row * d + j] * gamma[j] * x[row * d + j];
                        wantDg[j] += (double) dy[row * d + j] * x[row * d + j] * si;
                    }
                    for (int j = 0; j < d; j++) {
                        wantDx[row * d + j] = si * dy[row * d + j] * gamma[j] - (double) x[row * d + j] * si * si * si * b / d;
                    }
                }
                String tag = kernels.name() + " " + Arrays.toString(shape) + " axis " + AXES[t] + " " + dist;
                Tolerance.assertClose(tag + " y", wantY, y);
                float[] dx = new float[x.length];
                float[] dgamma = new float[d];
                ops.backward(shape, AXES[t], dy, 0, x, 0, gamma, invRms, dx, 0, dgamma);
                Tolerance.assertClose(tag + " dx", wantDx, dx);
                double[] scale = new double[d];
                Arrays.fill(scale, Math.sqrt(r));
                Tolerance.assertCloseScaled(tag + " dgamma", wantDg, dgamma, scale);
            }
        }
    }

    @Test
    void badAxesAndLengthsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LayerNormOps.get()
                .forward(new int[] {2, 3}, 2, new float[6], 0, new float[6], 0, null, null, 1e-5, null, null));
        assertTrue(e.getMessage().contains("axis must be in [-2, 1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> RMSNormOps.get().forward(new int[] {2, 3}, -1,
                new float[6], 0, new float[6], 0, new float[2], 1e-5, null));
        assertTrue(e.getMessage().contains("gamma"), e.getMessage());
    }
}
