package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.NcsShape;
import dev.vecnorm.RunningStats;
import dev.vecnorm.RunningStatsConvention;
import dev.vecnorm.TestBackends;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import dev.vecnorm.testing.Tolerance;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel implementation against the float64 oracle, on shapes that hit every vector tail and both loop
 * strategies, and on the numerically hostile distributions of DESIGN.md. Runs once per vector width (Surefire
 * executions force 128 and 256 bits).
 */
@Tag("species")
class KernelAccuracyTest {

    private static final int[] SPATIAL = {1, 2, 3, 15, 16, 17, 31, 33, 49, 64, 3136};
    private static final int[] BATCH = {1, 2, 3, 32};
    private static final int[] CHANNELS = {1, 3, 64};
    private static final long MAX_ELEMENTS = 700_000;

    static List<BatchNormKernels> implementations() {
        List<BatchNormKernels> list = new ArrayList<>();
        list.add(Kernels.scalar());
        list.add(Kernels.vector().orElseThrow(() -> new AssertionError(
                "Vector API kernels unavailable: " + Kernels.vectorUnavailableReason().orElse("?"))));
        return list;
    }

    /** The spatial dims for a given S, so that ranks 2 to 5 all occur. */
    static int[] dims(int n, int c, int s) {
        return switch (s) {
            case 1 -> new int[] {n, c};
            case 16 -> new int[] {n, c, 4, 4};
            case 64 -> new int[] {n, c, 4, 4, 4};
            case 15 -> new int[] {n, c, 3, 5};
            case 49 -> new int[] {n, c, 7, 7};
            case 3136 -> new int[] {n, c, 56, 56};
            case 2 -> new int[] {n, c, 1, 2, 1};
            default -> new int[] {n, c, s};
        };
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        Distribution[] distributions = Distribution.values();
        int k = 0;
        for (int s : SPATIAL) {
            for (int n : BATCH) {
                for (int c : CHANNELS) {
                    if ((long) n * c * s > MAX_ELEMENTS) {
                        continue;
                    }
                    // Every shape sees a normal tensor and one of the hostile distributions in rotation.
                    out.add(Arguments.of(dims(n, c, s), Distribution.NORMAL, 1e-5));
                    out.add(Arguments.of(dims(n, c, s), distributions[k++ % distributions.length], 1e-3));
                }
            }
        }
        // Several L2-sized channel blocks (the second starting at c0 > 0) in both strategies.
        out.add(Arguments.of(new int[] {256, 1024}, Distribution.MIXTURE, 1e-5));
        out.add(Arguments.of(new int[] {64, 300, 5}, Distribution.LARGE_OFFSET, 1e-5));
        out.add(Arguments.of(new int[] {4, 40, 33, 33}, Distribution.HEAVY_TAILS, 1e-5));
        // Channels larger than twice the L2 budget: cut along N into slices, merged with Chan.
        out.add(Arguments.of(new int[] {16, 2, 150, 150}, Distribution.LARGE_OFFSET, 1e-5));
        out.add(Arguments.of(new int[] {9, 3, 200, 200}, Distribution.MIXTURE, 0.0));
        // Issue 11's sparse-data cases, as reported: eps = 0, so the variance shows in y.
        out.add(Arguments.of(new int[] {1, 1, 4096}, Distribution.SPARSE_TINY, 0.0));
        out.add(Arguments.of(new int[] {2, 3, 64, 64}, Distribution.SPARSE_TINY, 0.0));
        out.add(Arguments.of(new int[] {2, 3, 64, 64}, Distribution.SPARSE_HUGE, 0.0));
        for (Distribution d : distributions) {
            out.add(Arguments.of(new int[] {32, 3, 56, 56}, d, 1e-5));
            out.add(Arguments.of(new int[] {256, 64}, d, 1e-5));
            out.add(Arguments.of(new int[] {32, 8, 7, 7}, d, 0.0));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} eps={2}")
    @MethodSource("cases")
    void trainingForwardMatchesFloat64(int[] dims, Distribution dist, double eps) {
        NcsShape sh = NcsShape.of(dims);
        if (sh.perChannel() < 2) {
            for (BatchNormKernels k : implementations()) {
                float[] y = new float[sh.size()];
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchNormOps
                        .using(TestBackends.of(k)).forwardTraining(dims, dist.tensor(sh, 42), 0, y, 0, null, null, eps, null, null,
                                null));
                assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
            }
            return;
        }
        float[] x = dist.tensor(sh, 42);
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 1);
        float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 2);
        Float64Reference.Training ref = Float64Reference.training(sh, x, gamma, beta, eps);
        float[][] ys = new float[2][];
        int which = 0;
        for (BatchNormKernels k : implementations()) {
            BatchNormOps ops = BatchNormOps.using(TestBackends.of(k));
            float[] y = new float[sh.size()];
            float[] mean = new float[sh.c()];
            float[] invStd = new float[sh.c()];
            float[] runMean = new float[sh.c()];
            float[] runVar = new float[sh.c()];
            Arrays.fill(runVar, 1f);
            ops.forwardTraining(dims, x, 0, y, 0, gamma, beta, eps, mean, invStd,
                    RunningStats.pytorch(runMean, runVar, 0.1));
            String tag = k.name() + " " + Arrays.toString(dims) + " " + dist;
            Tolerance.assertClose(tag + " y", ref.y(), y);
            // Means relative to their channel's spread, inverse stds relative to themselves: no absolute floor.
            double[] spread = new double[sh.c()];
            for (int ch = 0; ch < sh.c(); ch++) {
                spread[ch] = Math.sqrt(ref.variance()[ch]);
            }
            Tolerance.assertCloseScaled(tag + " mean", ref.mean(), mean, spread);
            Tolerance.assertCloseScaled(tag + " invStd", ref.invStd(), invStd, new double[sh.c()]);
            double[] expectRunVar = new double[sh.c()];
            double[] expectRunMean = new double[sh.c()];
            double m = sh.perChannel();
            for (int ch = 0; ch < sh.c(); ch++) {
                expectRunMean[ch] = 0.1 * ref.mean()[ch];
                expectRunVar[ch] = 0.9 + 0.1 * ref.variance()[ch] * m / (m - 1);
            }
            Tolerance.assertClose(tag + " running mean", expectRunMean, runMean);
            Tolerance.assertClose(tag + " running var", expectRunVar, runVar);
            ys[which++] = y;
        }
        // SIMD and scalar agree with each other within the same bound.
        Tolerance.assertClose("vector vs scalar", Tolerance.widen(ys[0]), ys[1]);
    }

    @ParameterizedTest(name = "{0} {1} eps={2}")
    @MethodSource("cases")
    void inferenceMatchesFloat64(int[] dims, Distribution dist, double eps) {
        NcsShape sh = NcsShape.of(dims);
        float[] x = dist.tensor(sh, 7);
        float[] gamma = Distribution.uniform(sh.c(), -2f, 2f, 3);
        float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 4);
        double[] m = Float64Reference.mean(sh, x);
        double[] v = Float64Reference.variance(sh, x, m);
        float[] mean = new float[sh.c()];
        float[] var = new float[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            mean[ch] = (float) m[ch];
            var[ch] = (float) v[ch] + 0.5f;
        }
        double[] ref = Float64Reference.inference(sh, x, gamma, beta, mean, var, eps);
        for (BatchNormKernels k : implementations()) {
            float[] y = new float[sh.size()];
            BatchNormOps.using(TestBackends.of(k)).forwardInference(dims, x, 0, y, 0, gamma, beta, mean, var, eps);
            Tolerance.assertClose(k.name() + " " + Arrays.toString(dims) + " " + dist + " y", ref, y);
        }
    }

    @ParameterizedTest(name = "{0} {1} eps={2}")
    @MethodSource("cases")
    void backwardMatchesFloat64(int[] dims, Distribution dist, double eps) {
        NcsShape sh = NcsShape.of(dims);
        if (sh.perChannel() < 2) {
            // No training forward exists to be differentiated: it is rejected, which is what is checked here.
            for (BatchNormKernels k : implementations()) {
                assertThrows(IllegalArgumentException.class, () -> BatchNormOps.using(TestBackends.of(k)).forwardTraining(dims,
                        new float[sh.size()], 0, new float[sh.size()], 0, null, null, 1e-5, null, null, null));
            }
            return;
        }
        float[] x = dist.tensor(sh, 11);
        float[] dy = Distribution.NORMAL.tensor(sh, 12);
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 5);
        // Saved statistics as a training forward would produce them (reference values rounded to float).
        Float64Reference.Training t = Float64Reference.training(sh, x, null, null, Math.max(eps, 1e-5));
        float[] mean = new float[sh.c()];
        float[] invStd = new float[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            mean[ch] = (float) t.mean()[ch];
            invStd[ch] = (float) t.invStd()[ch];
        }
        Float64Reference.Gradients ref = Float64Reference.backward(sh, dy, x, gamma, mean, invStd);
        float[] var = Distribution.uniform(sh.c(), 0.5f, 2f, 6);
        Float64Reference.Gradients frozen = Float64Reference.backwardFrozen(sh, dy, x, gamma, mean, var, eps);
        for (BatchNormKernels k : implementations()) {
            String tag = k.name() + " " + Arrays.toString(dims) + " " + dist;
            BatchNormOps ops = BatchNormOps.using(TestBackends.of(k));
            float[] dx = new float[sh.size()];
            float[] dgamma = new float[sh.c()];
            float[] dbeta = new float[sh.c()];
            ops.backward(dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            Tolerance.assertClose(tag + " dx", ref.dx(), dx);
            Tolerance.assertClose(tag + " dgamma", ref.dgamma(), dgamma);
            Tolerance.assertClose(tag + " dbeta", ref.dbeta(), dbeta);

            // Fresh outputs filled with a sentinel: a frozen backward that skipped one would leave NaN behind,
            // not the training backward's values.
            float[] dxFrozen = new float[sh.size()];
            float[] dgammaFrozen = new float[sh.c()];
            float[] dbetaFrozen = new float[sh.c()];
            Arrays.fill(dxFrozen, Float.NaN);
            Arrays.fill(dgammaFrozen, Float.NaN);
            Arrays.fill(dbetaFrozen, Float.NaN);
            ops.backwardFrozen(dims, dy, 0, x, 0, gamma, mean, var, eps, dxFrozen, 0, dgammaFrozen, dbetaFrozen);
            Tolerance.assertClose(tag + " frozen dx", frozen.dx(), dxFrozen);
            Tolerance.assertClose(tag + " frozen dgamma", frozen.dgamma(), dgammaFrozen);
            Tolerance.assertClose(tag + " frozen dbeta", frozen.dbeta(), dbetaFrozen);
        }
    }

    @Test
    void onnxConventionUpdatesWithBiasedVariance() {
        int[] dims = {4, 3, 5};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 3);
        double[] m = Float64Reference.mean(sh, x);
        double[] v = Float64Reference.variance(sh, x, m);
        for (BatchNormKernels k : implementations()) {
            float[] runMean = {1f, 2f, 3f};
            float[] runVar = {4f, 5f, 6f};
            BatchNormOps.using(TestBackends.of(k)).forwardTraining(dims, x, 0, new float[sh.size()], 0, null, null, 1e-5, null, null,
                    new RunningStats(runMean, runVar, RunningStatsConvention.ONNX, 0.9));
            double[] em = new double[3];
            double[] ev = new double[3];
            for (int ch = 0; ch < 3; ch++) {
                em[ch] = 0.9 * (ch + 1) + 0.1 * m[ch];
                ev[ch] = 0.9 * (ch + 4) + 0.1 * v[ch];
            }
            Tolerance.assertClose(k.name() + " onnx running mean", em, runMean);
            Tolerance.assertClose(k.name() + " onnx running var", ev, runVar);
        }
    }

    @Test
    void constantChannelGivesExactlyBeta() {
        for (int[] dims : new int[][] {{32, 4, 56, 56}, {256, 64}, {8, 5, 7}, {3, 2, 33}}) {
            NcsShape sh = NcsShape.of(dims);
            float[] x = Distribution.CONSTANT.tensor(sh, 1);
            float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 9);
            for (BatchNormKernels k : implementations()) {
                float[] y = new float[sh.size()];
                float[] mean = new float[sh.c()];
                BatchNormOps.using(TestBackends.of(k)).forwardTraining(dims, x, 0, y, 0, null, beta, 1e-5, mean, null, null);
                for (int i = 0; i < y.length; i++) {
                    int ch = (i / sh.s()) % sh.c();
                    assertEquals(beta[ch], y[i], 0.0, k.name() + " " + Arrays.toString(dims) + " at " + i);
                }
                for (int ch = 0; ch < sh.c(); ch++) {
                    assertEquals(0.75f + ch, mean[ch], 0.0, k.name() + " mean of constant channel " + ch);
                }
            }
        }
    }

    @Test
    void nanAndInfinityStayInTheirChannel() {
        for (int[] dims : new int[][] {{4, 4, 40}, {64, 4}, {2, 4, 3, 3}}) {
            NcsShape sh = NcsShape.of(dims);
            float[] x = Distribution.NORMAL.tensor(sh, 5);
            x[Float64Reference.at(sh, 0, 1, 0)] = Float.NaN;
            x[Float64Reference.at(sh, sh.n() - 1, 2, sh.s() - 1)] = Float.POSITIVE_INFINITY;
            Float64Reference.Training ref = Float64Reference.training(sh, x, null, null, 1e-5);
            for (BatchNormKernels k : implementations()) {
                float[] y = new float[sh.size()];
                BatchNormOps.using(TestBackends.of(k)).forwardTraining(dims, x, 0, y, 0, null, null, 1e-5, null, null, null);
                for (int i = 0; i < sh.n(); i++) {
                    for (int j = 0; j < sh.s(); j++) {
                        int at0 = Float64Reference.at(sh, i, 0, j);
                        int at3 = Float64Reference.at(sh, i, 3, j);
                        assertTrue(Tolerance.close(ref.y()[at0], y[at0], 1e-5), k.name() + " channel 0");
                        assertTrue(Tolerance.close(ref.y()[at3], y[at3], 1e-5), k.name() + " channel 3");
                        assertTrue(Float.isNaN(y[Float64Reference.at(sh, i, 1, j)]), k.name() + " channel 1 NaN");
                        assertTrue(Float.isNaN(y[Float64Reference.at(sh, i, 2, j)]), k.name() + " channel 2 NaN");
                    }
                }
            }
        }
    }

    @Test
    void forcedVectorWidthIsHonoured() {
        String bits = System.getProperty(PanamaBatchNormKernels.BIT_SIZE_PROPERTY);
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        if (bits != null) {
            assertEquals("vector-" + bits, vector.name());
        } else {
            assertTrue(vector.name().startsWith("vector-"), vector.name());
        }
    }

    @Test
    void offsetsAndInPlaceGiveTheSameResult() {
        int[] dims = {3, 5, 21};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 8);
        for (BatchNormKernels k : implementations()) {
            BatchNormOps ops = BatchNormOps.using(TestBackends.of(k));
            float[] expected = new float[sh.size()];
            ops.forwardTraining(dims, x, 0, expected, 0, null, null, 1e-5, null, null, null);
            float[] padded = new float[sh.size() + 10];
            System.arraycopy(x, 0, padded, 7, sh.size());
            ops.forwardTraining(dims, padded, 7, padded, 7, null, null, 1e-5, null, null, null);
            assertEquals(Arrays.toString(expected), Arrays.toString(Arrays.copyOfRange(padded, 7, 7 + sh.size())),
                    k.name());
        }
    }
}
