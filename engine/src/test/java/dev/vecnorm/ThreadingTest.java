package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Results do not depend on the number of threads, and the functional API is safe to call concurrently. */
class ThreadingTest {

    /** Shapes with several channel blocks (along runs and across positions), above the parallel threshold. */
    private static final int[][] SHAPES = {{32, 7, 96, 96}, {4096, 600}, {1024, 96, 5, 5}, {8, 3, 300, 300}};

    /** Every output of training, inference, backward and frozen backward, concatenated. */
    private static float[] everything(BatchNormOps ops, int[] dims) {
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.MIXTURE.tensor(sh, 3);
        float[] dy = Distribution.NORMAL.tensor(sh, 4);
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 5);
        float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 6);
        float[] y = new float[sh.size()];
        float[] mean = new float[sh.c()];
        float[] invStd = new float[sh.c()];
        float[] runMean = new float[sh.c()];
        float[] runVar = new float[sh.c()];
        ops.forwardTraining(dims, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd,
                RunningStats.pytorch(runMean, runVar, 0.1));
        float[] yEval = new float[sh.size()];
        ops.forwardInference(dims, x, 0, yEval, 0, gamma, beta, runMean, runVar, 1e-5);
        float[] dx = new float[sh.size()];
        float[] dgamma = new float[sh.c()];
        float[] dbeta = new float[sh.c()];
        ops.backward(dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        float[] dxFrozen = new float[sh.size()];
        float[] dgammaFrozen = new float[sh.c()];
        float[] dbetaFrozen = new float[sh.c()];
        ops.backwardFrozen(dims, dy, 0, x, 0, gamma, runMean, runVar, 1e-5, dxFrozen, 0, dgammaFrozen, dbetaFrozen);
        List<float[]> parts = List.of(y, mean, invStd, runMean, runVar, yEval, dx, dgamma, dbeta, dxFrozen,
                dgammaFrozen, dbetaFrozen);
        float[] all = new float[parts.stream().mapToInt(a -> a.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void bitwiseIdenticalForOneTwoThreeAndSevenThreads() throws Exception {
        List<BatchNormKernels> impls = new ArrayList<>(List.of(Kernels.scalar()));
        Kernels.vector().ifPresent(impls::add);
        for (BatchNormKernels k : impls) {
            for (int[] dims : SHAPES) {
                float[] expected = everything(BatchNormOps.using(TestBackends.of(k)), dims);
                for (int threads : new int[] {1, 2, 3, 7}) {
                    ForkJoinPool pool = new ForkJoinPool(threads);
                    try {
                        float[] got = everything(BatchNormOps.using(TestBackends.of(k)).parallel(pool), dims);
                        assertArrayEquals(expected, got, k.name() + " " + Arrays.toString(dims) + " with " + threads
                                + " threads");
                    } finally {
                        pool.shutdown();
                    }
                }
            }
        }
        // The default instance runs on the shared pool: same bits again.
        float[] shared = everything(BatchNormOps.get(), SHAPES[0]);
        assertArrayEquals(everything(BatchNormOps.get().singleThreaded(), SHAPES[0]), shared);
    }

    @Test
    void concurrentCallersEachGetTheirOwnCorrectResult() throws Exception {
        int callers = 4;
        float[][] expected = new float[callers][];
        int[][] dims = new int[callers][];
        for (int t = 0; t < callers; t++) {
            // Above PARALLEL_MIN_ELEMENTS, so every caller also fans out over the shared pool.
            dims[t] = new int[] {32, 16 + t, 64, 64};
            expected[t] = everything(BatchNormOps.get().singleThreaded(), dims[t]);
        }
        ExecutorService executor = Executors.newFixedThreadPool(callers);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < callers; t++) {
                int me = t;
                results.add(executor.submit(() -> {
                    for (int round = 0; round < 25; round++) {
                        if (!Arrays.equals(expected[me], everything(BatchNormOps.get(), dims[me]))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (int t = 0; t < callers; t++) {
                assertTrue(results.get(t).get(), "caller " + t + " saw a result that differs");
            }
        } finally {
            executor.shutdown();
        }
    }

    /** GroupNorm's outputs (y, mean, invStd, dx, dgamma, dbeta) in the given layout, concatenated. */
    private static float[] groupNormEverything(GroupNormOps ops, Layout layout, int[] dims, int groups) {
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.MIXTURE.tensor(sh, 13);
        float[] dy = Distribution.NORMAL.tensor(sh, 14);
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 15);
        float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 16);
        float[] y = new float[sh.size()];
        float[] mean = new float[sh.n() * groups];
        float[] invStd = new float[sh.n() * groups];
        ops.forward(layout, dims, groups, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
        float[] dx = new float[sh.size()];
        float[] dgamma = new float[sh.c()];
        float[] dbeta = new float[sh.c()];
        ops.backward(layout, dims, groups, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        float[] all = new float[0];
        for (float[] p : List.of(y, mean, invStd, dx, dgamma, dbeta)) {
            float[] joined = Arrays.copyOf(all, all.length + p.length);
            System.arraycopy(p, 0, joined, all.length, p.length);
            all = joined;
        }
        return all;
    }

    @Test
    void groupNormIsBitwiseIdenticalForOneTwoAndThreeThreads() {
        // 7 samples of 16 x 140 x 160: above PARALLEL_MIN_ELEMENTS, so the pool runs them.
        int[] dims = {7, 16, 140, 160};
        for (Layout layout : Layout.values()) {
            float[] expected = groupNormEverything(GroupNormOps.get().singleThreaded(), layout, dims, 4);
            for (int threads : new int[] {2, 3}) {
                ForkJoinPool pool = new ForkJoinPool(threads);
                try {
                    assertArrayEquals(expected, groupNormEverything(GroupNormOps.get().parallel(pool), layout, dims,
                            4), layout + " with " + threads + " threads");
                } finally {
                    pool.shutdown();
                }
            }
        }
    }

    /** LayerNorm's and RMSNorm's outputs for one large shape, concatenated. */
    private static float[] rowNormsEverything(LayerNormOps layer, RMSNormOps rms, int[] dims) {
        int width = dims[dims.length - 1];
        int rows = dims[0];
        NcsShape sh = new NcsShape(1, rows, width);
        float[] x = Distribution.MIXTURE.tensor(sh, 23);
        float[] dy = Distribution.NORMAL.tensor(sh, 24);
        float[] gamma = Distribution.uniform(width, 0.5f, 2f, 25);
        float[] beta = Distribution.uniform(width, -1f, 1f, 26);
        float[] y = new float[x.length];
        float[] mean = new float[rows];
        float[] invStd = new float[rows];
        layer.forward(dims, -1, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
        float[] dx = new float[x.length];
        float[] dgamma = new float[width];
        float[] dbeta = new float[width];
        layer.backward(dims, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        float[] yRms = new float[x.length];
        float[] invRms = new float[rows];
        rms.forward(dims, -1, x, 0, yRms, 0, gamma, 1e-6, invRms);
        float[] dxRms = new float[x.length];
        float[] dgRms = new float[width];
        rms.backward(dims, -1, dy, 0, x, 0, gamma, invRms, dxRms, 0, dgRms);
        float[] all = new float[0];
        for (float[] p : List.of(y, mean, invStd, dx, dgamma, dbeta, yRms, invRms, dxRms, dgRms)) {
            float[] joined = Arrays.copyOf(all, all.length + p.length);
            System.arraycopy(p, 0, joined, all.length, p.length);
            all = joined;
        }
        return all;
    }

    @Test
    void layerNormAndRmsNormAreBitwiseIdenticalForOneTwoAndThreeThreads() {
        // 2.4M elements: above PARALLEL_MIN_ELEMENTS, several forward and backward row blocks.
        int[] dims = {1200, 2000};
        float[] expected = rowNormsEverything(LayerNormOps.get().singleThreaded(), RMSNormOps.get().singleThreaded(),
                dims);
        for (int threads : new int[] {2, 3}) {
            ForkJoinPool pool = new ForkJoinPool(threads);
            try {
                assertArrayEquals(expected, rowNormsEverything(LayerNormOps.get().parallel(pool),
                        RMSNormOps.get().parallel(pool), dims), threads + " threads");
            } finally {
                pool.shutdown();
            }
        }
    }
}
