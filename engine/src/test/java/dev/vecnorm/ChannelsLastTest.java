package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Channels-last BatchNorm: the results of the channels-first tensor transposed, checked against float64 on the
 * channels-first form; any C (fewer than a vector's lanes, not a multiple of them); row slices merged with Chan
 * when the tensor outgrows the cache budget; bitwise identical for any thread count.
 */
class ChannelsLastTest {

    /** (N, C, spatial...): C below and above the lane counts, rank 3 to 5, and one large enough to be sliced. */
    private static final int[][] SHAPES = {{2, 3, 5, 7}, {4, 17, 6, 6}, {3, 64, 8, 8}, {2, 5, 3, 4, 4}, {6, 9, 11},
        {8, 64, 72, 72}};

    static List<BatchNormKernels> implementations() {
        List<BatchNormKernels> all = new ArrayList<>();
        all.add(Kernels.scalar());
        Kernels.vector().ifPresent(all::add);
        return all;
    }

    /** x in channels-last order from its channels-first form. */
    static float[] toChannelsLast(NcsShape sh, float[] first) {
        float[] last = new float[first.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    last[(i * sh.s() + j) * sh.c() + ch] = first[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return last;
    }

    private static void close(double expected, float got, double scale, String what) {
        double tolerance = 1e-5 * (1 + Math.abs(expected)) + 1e-6 * scale;
        assertTrue(Math.abs(got - expected) <= tolerance, what + ": expected " + expected + ", got " + got);
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void trainingInferenceAndBackwardMatchFloat64OnTheTransposedTensor(BatchNormKernels kernels) {
        BatchNormOps ops = BatchNormOps.using(TestBackends.of(kernels));
        for (int[] dims : SHAPES) {
            NcsShape sh = NcsShape.of(dims);
            int c = sh.c();
            float[] x = Distribution.MIXTURE.tensor(sh, 11);
            float[] dy = Distribution.NORMAL.tensor(sh, 12);
            float[] gamma = Distribution.uniform(c, 0.5f, 2f, 13);
            float[] beta = Distribution.uniform(c, -1f, 1f, 14);
            float[] xl = toChannelsLast(sh, x);
            float[] dyl = toChannelsLast(sh, dy);

            float[] y = new float[sh.size()];
            float[] mean = new float[c];
            float[] invStd = new float[c];
            ops.forwardTraining(Layout.CHANNELS_LAST, dims, xl, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
            Float64Reference.Training want = Float64Reference.training(sh, x, gamma, beta, 1e-5);
            float[] wantY = new float[sh.size()];
            for (int k = 0; k < wantY.length; k++) {
                wantY[k] = (float) want.y()[k];
            }
            float[] wantYLast = toChannelsLast(sh, wantY);
            for (int k = 0; k < y.length; k++) {
                close(wantYLast[k], y[k], 1, "y[" + k + "] of " + sh);
            }
            for (int ch = 0; ch < c; ch++) {
                double std = Math.sqrt(want.variance()[ch]);
                close(want.mean()[ch], mean[ch], std, "mean[" + ch + "] of " + sh);
                close(want.invStd()[ch], invStd[ch], 0, "invStd[" + ch + "] of " + sh);
            }

            float[] yEval = new float[sh.size()];
            float[] var = new float[c];
            for (int ch = 0; ch < c; ch++) {
                var[ch] = (float) want.variance()[ch];
            }
            ops.forwardInference(Layout.CHANNELS_LAST, dims, xl, 0, yEval, 0, gamma, beta, mean, var, 1e-5);
            float[] wantEval = new float[sh.size()];
            double[] eval = Float64Reference.inference(sh, x, gamma, beta, mean, var, 1e-5);
            for (int k = 0; k < wantEval.length; k++) {
                wantEval[k] = (float) eval[k];
            }
            float[] wantEvalLast = toChannelsLast(sh, wantEval);
            for (int k = 0; k < yEval.length; k++) {
                close(wantEvalLast[k], yEval[k], 1, "inference y[" + k + "] of " + sh);
            }

            float[] dx = new float[sh.size()];
            float[] dgamma = new float[c];
            float[] dbeta = new float[c];
            ops.backward(Layout.CHANNELS_LAST, dims, dyl, 0, xl, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            Float64Reference.Gradients g = Float64Reference.backward(sh, dy, x, gamma, mean, invStd);
            float[] wantDx = new float[sh.size()];
            for (int k = 0; k < wantDx.length; k++) {
                wantDx[k] = (float) g.dx()[k];
            }
            float[] wantDxLast = toChannelsLast(sh, wantDx);
            double count = sh.perChannel();
            for (int k = 0; k < dx.length; k++) {
                close(wantDxLast[k], dx[k], 1, "dx[" + k + "] of " + sh);
            }
            for (int ch = 0; ch < c; ch++) {
                close(g.dgamma()[ch], dgamma[ch], Math.sqrt(count), "dgamma[" + ch + "] of " + sh);
                close(g.dbeta()[ch], dbeta[ch], Math.sqrt(count), "dbeta[" + ch + "] of " + sh);
            }

            float[] dxFrozen = new float[sh.size()];
            float[] dgF = new float[c];
            float[] dbF = new float[c];
            ops.backwardFrozen(Layout.CHANNELS_LAST, dims, dyl, 0, xl, 0, gamma, mean, var, 1e-5, dxFrozen, 0, dgF,
                    dbF);
            Float64Reference.Gradients f = Float64Reference.backwardFrozen(sh, dy, x, gamma, mean, var, 1e-5);
            float[] wantDxF = new float[sh.size()];
            for (int k = 0; k < wantDxF.length; k++) {
                wantDxF[k] = (float) f.dx()[k];
            }
            float[] wantDxFLast = toChannelsLast(sh, wantDxF);
            for (int k = 0; k < dxFrozen.length; k++) {
                close(wantDxFLast[k], dxFrozen[k], 1, "frozen dx[" + k + "] of " + sh);
            }
            for (int ch = 0; ch < c; ch++) {
                close(f.dgamma()[ch], dgF[ch], Math.sqrt(count), "frozen dgamma[" + ch + "] of " + sh);
                close(f.dbeta()[ch], dbF[ch], Math.sqrt(count), "frozen dbeta[" + ch + "] of " + sh);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void bitwiseTheSameForAnyThreadCountAndOnSegments(BatchNormKernels kernels) throws Exception {
        int[] dims = {8, 64, 72, 72};  // sliced into row blocks
        NcsShape sh = NcsShape.of(dims);
        float[] xl = toChannelsLast(sh, Distribution.MIXTURE.tensor(sh, 21));
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 22);
        float[] one = new float[sh.size()];
        float[] meanOne = new float[sh.c()];
        BatchNormOps.using(TestBackends.of(kernels)).singleThreaded().forwardTraining(Layout.CHANNELS_LAST, dims, xl, 0, one, 0,
                gamma, null, 1e-5, meanOne, null, null);
        ForkJoinPool pool = new ForkJoinPool(3);
        try {
            float[] three = new float[sh.size()];
            float[] meanThree = new float[sh.c()];
            BatchNormOps.using(TestBackends.of(kernels)).parallel(pool).forwardTraining(Layout.CHANNELS_LAST, dims, xl, 0, three, 0,
                    gamma, null, 1e-5, meanThree, null, null);
            assertArrayEquals(one, three);
            assertArrayEquals(meanOne, meanThree);
        } finally {
            pool.shutdown();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate((long) sh.size() * Float.BYTES, 64);
            MemorySegment.copy(xl, 0, x, ValueLayout.JAVA_FLOAT, 0, sh.size());
            MemorySegment y = arena.allocate((long) sh.size() * Float.BYTES, 64);
            float[] meanSeg = new float[sh.c()];
            BatchNormOps.using(TestBackends.of(kernels)).singleThreaded().forwardTraining(Layout.CHANNELS_LAST, dims, x, 0, y, 0,
                    gamma, null, 1e-5, meanSeg, null, null);
            assertArrayEquals(one, y.toArray(ValueLayout.JAVA_FLOAT));
            assertArrayEquals(meanOne, meanSeg);
        }
    }

    /**
     * The backward's sums add rows in a fixed order (two at a time from the halves of each row slice; 64 channels
     * at 512 bits keep them in registers in that order; slices of odd row counts end on a single row): the same
     * bits on 1 and 3 threads, and on native segments (the segment kernels repeat the array loops). 64 channels
     * take the register path at 512 bits, 40 the sum rows at every width.
     */
    @ParameterizedTest
    @MethodSource("implementations")
    void backwardBitwiseTheSameForAnyThreadCountAndOnSegments(BatchNormKernels kernels) throws Exception {
        for (int[] dims : new int[][] {{8, 64, 72, 72}, {8, 40, 72, 72}, {3, 40, 5, 7}}) {
            NcsShape sh = NcsShape.of(dims);
            int c = sh.c();
            float[] x = toChannelsLast(sh, Distribution.MIXTURE.tensor(sh, 31));
            float[] dy = toChannelsLast(sh, Distribution.MIXTURE.tensor(sh, 32));
            float[] gamma = Distribution.uniform(c, 0.5f, 2f, 33);
            float[] mean = new float[c];
            float[] invStd = new float[c];
            BatchNormOps one = BatchNormOps.using(TestBackends.of(kernels)).singleThreaded();
            one.forwardTraining(Layout.CHANNELS_LAST, dims, x, 0, new float[sh.size()], 0, gamma, null, 1e-5, mean,
                    invStd, null);
            float[] dx = new float[sh.size()];
            float[] dgamma = new float[c];
            float[] dbeta = new float[c];
            one.backward(Layout.CHANNELS_LAST, dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            String what = java.util.Arrays.toString(dims);
            ForkJoinPool pool = new ForkJoinPool(3);
            try {
                float[] dxThree = new float[sh.size()];
                float[] dgammaThree = new float[c];
                float[] dbetaThree = new float[c];
                BatchNormOps.using(TestBackends.of(kernels)).parallel(pool).backward(Layout.CHANNELS_LAST, dims, dy,
                        0, x, 0, gamma, mean, invStd, dxThree, 0, dgammaThree, dbetaThree);
                assertArrayEquals(dx, dxThree, "dx on 3 threads, " + what);
                assertArrayEquals(dgamma, dgammaThree, "dgamma on 3 threads, " + what);
                assertArrayEquals(dbeta, dbetaThree, "dbeta on 3 threads, " + what);
            } finally {
                pool.shutdown();
            }
            try (Arena arena = Arena.ofConfined()) {
                long bytes = (long) sh.size() * Float.BYTES;
                MemorySegment xs = arena.allocate(bytes, 64);
                MemorySegment dys = arena.allocate(bytes, 64);
                MemorySegment dxs = arena.allocate(bytes, 64);
                MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, sh.size());
                MemorySegment.copy(dy, 0, dys, ValueLayout.JAVA_FLOAT, 0, sh.size());
                float[] dgammaSeg = new float[c];
                float[] dbetaSeg = new float[c];
                one.backward(Layout.CHANNELS_LAST, dims, dys, 0, xs, 0, gamma, mean, invStd, dxs, 0, dgammaSeg,
                        dbetaSeg);
                assertArrayEquals(dx, dxs.toArray(ValueLayout.JAVA_FLOAT), "dx on segments, " + what);
                assertArrayEquals(dgamma, dgammaSeg, "dgamma on segments, " + what);
                assertArrayEquals(dbeta, dbetaSeg, "dbeta on segments, " + what);
            }
        }
    }

    @Test
    void layoutIsRequiredAndShapesAreCheckedAsTheLogicalShape() {
        BatchNormOps ops = BatchNormOps.get();
        float[] x = new float[2 * 3 * 4];
        float[] y = new float[x.length];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.forwardTraining(null, new int[] {2, 3, 4}, x, 0, y, 0, null, null, 1e-5, null, null, null));
        assertTrue(e.getMessage().contains("layout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.forwardTraining(Layout.CHANNELS_LAST,
                new int[] {1, 3, 1}, new float[3], 0, new float[3], 0, null, null, 1e-5, null, null, null));
        assertTrue(e.getMessage().contains("[1, 3, 1]"), e.getMessage());
        assertEquals(Layout.CHANNELS_FIRST.memoryShape(new int[] {2, 3, 4}).length, 3);
        assertArrayEquals(new int[] {8, 3}, Layout.CHANNELS_LAST.memoryShape(new int[] {2, 3, 4}));
        assertArrayEquals(new int[] {2 * 5 * 6, 3}, Layout.CHANNELS_LAST.memoryShape(new int[] {2, 3, 5, 6}));
    }
}
