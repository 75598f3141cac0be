package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNorm;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.ChannelMoments;
import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import dev.vecnorm.RunningStats;
import dev.vecnorm.RunningStatsConvention;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import dev.vecnorm.testing.Tolerance;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/**
 * Properties of batch normalization that hold for every input, checked on generated cases against both the
 * Vector API and the scalar kernels. QT_EXAMPLES (set by Maven: 60, or 1000 with -Pdeep) is the number of
 * examples per property; a failure prints the seed and the shrunk case (reproduce with -DQT_SEED=...).
 */
class BatchNormPropertiesTest {

    private static final List<Backend> IMPLEMENTATIONS = List.of(Backend.scalarReference(),
            Backend.vector().orElseThrow(() -> new AssertionError("proptest runs with --add-modules "
                    + "jdk.incubator.vector: " + Backend.vectorUnavailableReason().orElse(""))));
    private static final double TOL = Tolerance.RELATIVE;
    private static final Coverage COVERAGE = new Coverage();

    @AfterAll
    static void coverage() {
        COVERAGE.report("BatchNormPropertiesTest");
    }

    private static Gen<BnCase> recorded(Gen<BnCase> gen) {
        return gen.map(c -> {
            COVERAGE.record(c);
            return c;
        }).describedAs(BnCase::toString);
    }

    /** Output of a training forward and what it saved. */
    private record Trained(float[] y, float[] mean, float[] invStd) {
    }

    private static Trained train(Backend k, BnCase c, float[] x, float[] gamma, float[] beta) {
        NcsShape sh = c.shape();
        Trained t = new Trained(new float[sh.size()], new float[sh.c()], new float[sh.c()]);
        BatchNormOps.using(k).forwardTraining(c.dims(), x, 0, t.y, 0, gamma, beta, c.eps(), t.mean, t.invStd, null);
        return t;
    }

    private static boolean degenerate(double variance, double eps) {
        return variance + eps == 0;
    }

    @Test
    void trainingOutputHasZeroMeanAndVarianceOverVariancePlusEps() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::unitOutput);
    }

    static void unitOutput(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        double[] mean = Float64Reference.mean(sh, x);
        double[] var = Float64Reference.variance(sh, x, mean);
        for (Backend k : IMPLEMENTATIONS) {
            float[] y = train(k, c, x, null, null).y;
            for (int ch = 0; ch < sh.c(); ch++) {
                double[] m = channelMoments(sh, y, ch);
                String where = k.name() + " " + c + " channel " + ch;
                if (degenerate(var[ch], c.eps())) {
                    // 0/0 with eps = 0 on a constant channel: NaN, as in PyTorch and ONNX.
                    assertTrue(Double.isNaN(m[0]), where);
                    continue;
                }
                // Each y carries at most TOL * (1 + |y|) of error, so their mean and variance carry a bounded
                // multiple of that; the float32 rounding of y itself is far below it.
                double meanTol = TOL * (1 + m[2]) + 8 * Math.ulp(1f);
                double varTol = 2 * TOL * (1 + m[3]) + 8 * Math.ulp(1f);
                assertTrue(Math.abs(m[0]) <= meanTol, where + ": mean " + m[0]);
                double expected = var[ch] / (var[ch] + c.eps());
                assertTrue(Math.abs(m[1] - expected) <= varTol, where + ": variance " + m[1] + ", expected "
                        + expected);
            }
        }
    }

    /** mean, biased variance, mean |y| and mean y^2 of one channel, in double. */
    private static double[] channelMoments(NcsShape sh, float[] y, int ch) {
        double sum = 0, abs = 0, sq = 0;
        for (int i = 0; i < sh.n(); i++) {
            for (int j = 0; j < sh.s(); j++) {
                float v = y[Float64Reference.at(sh, i, ch, j)];
                sum += v;
                abs += Math.abs(v);
                sq += (double) v * v;
            }
        }
        int m = sh.perChannel();
        double mean = sum / m;
        double var = 0;
        for (int i = 0; i < sh.n(); i++) {
            for (int j = 0; j < sh.s(); j++) {
                double d = y[Float64Reference.at(sh, i, ch, j)] - mean;
                var += d * d;
            }
        }
        return new double[] {mean, var / m, abs / m, sq / m};
    }

    @Test
    void simdAndScalarAgreeWithFloat64InTrainingAndRunningStats() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::trainingAgrees);
    }

    static void trainingAgrees(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        Float64Reference.Training ref = Float64Reference.training(sh, x, c.gamma(), c.beta(), c.eps());
        float[][] ys = new float[IMPLEMENTATIONS.size()][];
        for (int i = 0; i < ys.length; i++) {
            Backend k = IMPLEMENTATIONS.get(i);
            float[] y = new float[sh.size()];
            float[] mean = new float[sh.c()];
            float[] invStd = new float[sh.c()];
            float[] runMean = Distribution.uniform(sh.c(), -1, 1, c.seed());
            float[] runVar = Distribution.uniform(sh.c(), 0.5f, 2, c.seed());
            float[] runMean0 = runMean.clone();
            float[] runVar0 = runVar.clone();
            RunningStatsConvention conv = c.seed() % 2 == 0 ? RunningStatsConvention.PYTORCH
                    : RunningStatsConvention.ONNX;
            double momentum = (c.seed() % 101) / 100.0;
            BatchNormOps.using(k).forwardTraining(c.dims(), x, 0, y, 0, c.gamma(), c.beta(), c.eps(), mean,
                    invStd, new RunningStats(runMean, runVar, conv, momentum));
            String tag = k.name() + " " + c;
            Tolerance.assertClose(tag + " y", ref.y(), y);
            Tolerance.assertClose(tag + " mean", ref.mean(), mean);
            Tolerance.assertClose(tag + " invStd", ref.invStd(), invStd);
            double[] em = new double[sh.c()];
            double[] ev = new double[sh.c()];
            double count = sh.perChannel();
            for (int ch = 0; ch < sh.c(); ch++) {
                double batchVar = conv == RunningStatsConvention.PYTORCH
                        ? ref.variance()[ch] * count / (count - 1) : ref.variance()[ch];
                double keep = conv == RunningStatsConvention.PYTORCH ? 1 - momentum : momentum;
                em[ch] = keep * runMean0[ch] + (1 - keep) * ref.mean()[ch];
                ev[ch] = keep * runVar0[ch] + (1 - keep) * batchVar;
            }
            Tolerance.assertClose(tag + " running mean", em, runMean);
            Tolerance.assertClose(tag + " running var", ev, runVar);
            ys[i] = y;
        }
        Tolerance.assertClose("simd vs scalar " + c, Tolerance.widen(ys[0]), ys[1]);
    }

    @Test
    void simdAndScalarAgreeWithFloat64InInference() {
        qt().forAll(recorded(Generators.cases())).checkAssert(BatchNormPropertiesTest::inferenceAgrees);
    }

    static void inferenceAgrees(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        float[] mean = Distribution.uniform(sh.c(), -2, 2, c.seed() + 5);
        float[] var = Distribution.uniform(sh.c(), 0.01f, 4, c.seed() + 6);
        double[] ref = Float64Reference.inference(sh, x, c.gamma(), c.beta(), mean, var, c.eps());
        float[][] ys = new float[IMPLEMENTATIONS.size()][];
        for (int i = 0; i < ys.length; i++) {
            Backend k = IMPLEMENTATIONS.get(i);
            ys[i] = new float[sh.size()];
            BatchNormOps.using(k).forwardInference(c.dims(), x, 0, ys[i], 0, c.gamma(), c.beta(), mean, var,
                    c.eps());
            Tolerance.assertClose(k.name() + " " + c, ref, ys[i]);
        }
        Tolerance.assertClose("simd vs scalar " + c, Tolerance.widen(ys[0]), ys[1]);
    }

    @Test
    void affineOutputIsGammaTimesUnitOutputPlusBeta() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::affineIsScaledUnitOutput);
    }

    static void affineIsScaledUnitOutput(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        float[] gamma = Distribution.uniform(sh.c(), -3, 3, c.seed() + 9);
        float[] beta = Distribution.uniform(sh.c(), -3, 3, c.seed() + 10);
        for (Backend k : IMPLEMENTATIONS) {
            float[] unit = train(k, c, x, null, null).y;
            float[] y = train(k, c, x, gamma, beta).y;
            for (int e = 0; e < y.length; e++) {
                int ch = (e / sh.s()) % sh.c();
                double expected = (double) gamma[ch] * unit[e] + beta[ch];
                // Both outputs are within TOL of float64; their difference within the sum of the two bounds.
                double tol = TOL * (1 + Math.abs(expected)) + Math.abs(gamma[ch]) * TOL * (1 + Math.abs(unit[e]));
                assertTrue(Tolerance.close(expected, y[e], 0) || Math.abs(y[e] - expected) <= tol
                        || (Double.isNaN(expected) && Float.isNaN(y[e])),
                        k.name() + " " + c + " at " + e + ": " + y[e] + " vs " + expected);
            }
        }
    }

    @Test
    void shiftingOrScalingAChannelLeavesTheOutputNearlyUnchanged() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::shiftAndScaleInvariance);
    }

    static void shiftAndScaleInvariance(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        SplittableRandom r = c.random();
        // A power-of-two scale is exact in float; the shift rounds, and the bound below accounts for it.
        float scale = Math.scalb(1f, r.nextInt(-8, 9));
        float shift = (float) r.nextDouble(-100, 100);
        float[] moved = new float[x.length];
        // Rounding x + shift moves each value by up to half an ulp of |x| + |shift|: per channel, from that
        // channel's own values (one huge channel must not loosen the bound of the others).
        double[] rounding = new double[sh.c()];
        for (int e = 0; e < x.length; e++) {
            moved[e] = (x[e] + shift) * scale;
            int ch = (e / sh.s()) % sh.c();
            rounding[ch] = Math.max(rounding[ch], Math.ulp(Math.abs(x[e]) + Math.abs(shift)));
        }
        double[] mean = Float64Reference.mean(sh, x);
        double[] var = Float64Reference.variance(sh, x, mean);
        double[] movedVar = Float64Reference.variance(sh, moved, Float64Reference.mean(sh, moved));
        for (Backend k : IMPLEMENTATIONS) {
            // eps = 0: y is then exactly invariant in real arithmetic.
            BnCase exact = new BnCase(c.dims(), c.distribution(), c.seed(), 0.0, false);
            float[] y0 = train(k, exact, x, null, null).y;
            float[] y1 = train(k, exact, moved, null, null).y;
            int checked = 0;
            for (int e = 0; e < x.length; e++) {
                int ch = (e / sh.s()) % sh.c();
                if (movedVar[ch] == 0) {
                    // Rounding x + shift made the channel constant: with eps = 0 its output is 0/0.
                    assertTrue(Float.isNaN(y1[e]), k.name() + " " + c + ": a constant channel with eps = 0 gives"
                            + " NaN, got " + y1[e] + " at " + e);
                    checked++;
                    continue;
                }
                if (!(var[ch] > 0) || !Double.isFinite(var[ch])) {
                    continue;
                }
                double std = Math.sqrt(var[ch]);
                double tol = 2 * TOL * (1 + Math.abs(y0[e])) + 4 * rounding[ch] / std * (1 + Math.abs(y0[e]));
                assertTrue(Math.abs(y0[e] - y1[e]) <= tol, k.name() + " " + c + " shift " + shift + " scale "
                        + scale + " at " + e + ": " + y0[e] + " vs " + y1[e] + " (tol " + tol + ")");
                checked++;
            }
            if (sh.perChannel() > 1 && Arrays.stream(var).anyMatch(v -> v > 0 && Double.isFinite(v))) {
                assertTrue(checked > 0, k.name() + " " + c + ": no element was checked");
            }
        }
    }

    @Test
    void inferenceWithTheBatchStatisticsEqualsTrainingOutput() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::inferenceEqualsTraining);
    }

    static void inferenceEqualsTraining(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        double[] m = Float64Reference.mean(sh, x);
        double[] v = Float64Reference.variance(sh, x, m);
        float[] mean = new float[sh.c()];
        float[] var = new float[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            mean[ch] = (float) m[ch];
            var[ch] = (float) v[ch];
        }
        float[] gamma = c.gamma();
        for (Backend k : IMPLEMENTATIONS) {
            float[] trained = train(k, c, x, gamma, c.beta()).y;
            float[] inferred = new float[sh.size()];
            BatchNormOps.using(k).forwardInference(c.dims(), x, 0, inferred, 0, gamma, c.beta(), mean, var,
                    c.eps());
            for (int e = 0; e < x.length; e++) {
                int ch = (e / sh.s()) % sh.c();
                if (degenerate(v[ch], c.eps()) || !Double.isFinite(v[ch]) || (double) var[ch] + c.eps() == 0) {
                    // Also skipped: a variance below float's range (sparse 1e-25 data) that rounds to 0, where
                    // inference with eps = 0 divides by zero while training, in double, does not.
                    continue;
                }
                double g = gamma == null ? 1 : Math.abs(gamma[ch]);
                double invStd = 1 / Math.sqrt(v[ch] + c.eps());
                // Rounding the statistics to float moves y by up to ulp(mean)/2 * invstd * |gamma|, and by half
                // the relative rounding of var + eps (large when var is a float subnormal and eps = 0).
                double varRounding = Math.ulp(var[ch]) / (v[ch] + c.eps());
                double tol = 2 * TOL * (1 + Math.abs(trained[e])) + g * invStd * Math.ulp(mean[ch])
                        + (Math.ulp(1f) + varRounding) * Math.abs(trained[e]);
                assertTrue(Math.abs(trained[e] - inferred[e]) <= tol, k.name() + " " + c + " at " + e + ": "
                        + trained[e] + " vs " + inferred[e]);
            }
        }
    }

    @Test
    void constantChannelGivesExactlyBeta() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::constantChannel);
    }

    static void constantChannel(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        int ch = (int) (c.seed() % sh.c());
        float value = (float) c.random().nextDouble(-1e4, 1e4);
        for (int i = 0; i < sh.n(); i++) {
            for (int j = 0; j < sh.s(); j++) {
                x[Float64Reference.at(sh, i, ch, j)] = value;
            }
        }
        float[] beta = Distribution.uniform(sh.c(), -1, 1, c.seed());
        double eps = c.eps() > 0 ? c.eps() : 1e-5;
        for (Backend k : IMPLEMENTATIONS) {
            float[] y = new float[sh.size()];
            BatchNormOps.using(k).forwardTraining(c.dims(), x, 0, y, 0, c.gamma(), beta, eps, null, null, null);
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    assertEquals(beta[ch], y[Float64Reference.at(sh, i, ch, j)], 0.0,
                            k.name() + " " + c + " constant channel " + ch);
                }
            }
        }
    }

    @Test
    void nanOrInfinityInOneChannelLeavesTheOthersBitwiseUntouched() {
        qt().forAll(recorded(Generators.trainable().assuming(c -> c.shape().c() > 1)))
                .checkAssert(BatchNormPropertiesTest::nonFiniteConfined);
    }

    static void nonFiniteConfined(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        SplittableRandom r = c.random();
        int bad = r.nextInt(sh.c());
        float[] poisoned = x.clone();
        float poison = r.nextBoolean() ? Float.NaN : (r.nextBoolean() ? Float.POSITIVE_INFINITY
                : Float.NEGATIVE_INFINITY);
        poisoned[Float64Reference.at(sh, r.nextInt(sh.n()), bad, r.nextInt(sh.s()))] = poison;
        for (Backend k : IMPLEMENTATIONS) {
            float[] clean = train(k, c, x, c.gamma(), c.beta()).y;
            Trained dirty = train(k, c, poisoned, c.gamma(), c.beta());
            for (int e = 0; e < x.length; e++) {
                int ch = (e / sh.s()) % sh.c();
                if (ch != bad) {
                    assertEquals(Float.floatToRawIntBits(clean[e]), Float.floatToRawIntBits(dirty.y[e]),
                            k.name() + " " + c + " channel " + ch + " changed by " + poison + " in " + bad);
                }
            }
            assertTrue(Float.isNaN(dirty.mean[bad]) || Float.isInfinite(dirty.mean[bad]), k.name() + " " + c);
        }
    }

    @Test
    void backwardSumsMatchFloat64AndDxSumsToZero() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(BatchNormPropertiesTest::backwardAgrees);
    }

    static void backwardAgrees(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[][] dxs = new float[IMPLEMENTATIONS.size()][];
        double[][] tolerances = new double[IMPLEMENTATIONS.size()][];
        // Both backward implementations start from the same saved statistics: one float ulp of a saved mean
        // of 1e4 is a tenth of a standard deviation of 1e-2, so different ones would not be comparable.
        Trained t = train(Backend.scalarReference(), c, x, gamma, c.beta());
        for (int i = 0; i < dxs.length; i++) {
            Backend k = IMPLEMENTATIONS.get(i);
            BatchNormOps ops = BatchNormOps.using(k);
            float[] dx = new float[sh.size()];
            float[] dgamma = new float[sh.c()];
            float[] dbeta = new float[sh.c()];
            ops.backward(c.dims(), dy, 0, x, 0, gamma, t.mean, t.invStd, dx, 0, dgamma, dbeta);
            Float64Reference.Gradients ref = Float64Reference.backward(sh, dy, x, gamma, t.mean, t.invStd);
            String tag = k.name() + " " + c;
            tolerances[i] = dxTolerance(sh, ref, dy, x, gamma, t);
            for (int e = 0; e < dx.length; e++) {
                assertTrue(Math.abs(dx[e] - ref.dx()[e]) <= tolerances[i][e]
                        || (Double.isNaN(ref.dx()[e]) && Float.isNaN(dx[e])), tag + " dx[" + e + "] = " + dx[e]
                        + ", expected " + ref.dx()[e] + " (tol " + tolerances[i][e] + ")");
            }
            Tolerance.assertClose(tag + " dgamma = sum(dy * xhat)", ref.dgamma(), dgamma);
            Tolerance.assertClose(tag + " dbeta = sum(dy)", ref.dbeta(), dbeta);
            for (int ch = 0; ch < sh.c(); ch++) {
                double sum = 0, abs = 0;
                for (int n = 0; n < sh.n(); n++) {
                    for (int j = 0; j < sh.s(); j++) {
                        float v = dx[Float64Reference.at(sh, n, ch, j)];
                        sum += v;
                        abs += Math.abs(v);
                    }
                }
                if (Double.isFinite(abs)) {
                    // Exactly 0 in real arithmetic with the exact mean. The saved mean is the float nearest to
                    // it, and xhat then sums to M * (mean - saved) * invstd, which dx carries times
                    // gamma * invstd * dgamma / M.
                    double meanError = Math.abs(Float64Reference.mean(sh, x)[ch] - t.mean[ch]);
                    double g = gamma == null ? 1 : Math.abs(gamma[ch]);
                    double savedMeanTerm = g * t.invStd[ch] * t.invStd[ch] * Math.abs(ref.dgamma()[ch])
                            * meanError;
                    double bound = 2 * TOL * (sh.perChannel() + abs) + 2 * savedMeanTerm;
                    assertTrue(Math.abs(sum) <= bound, tag + " sum(dx) of channel " + ch + " = " + sum
                            + " > " + bound);
                }
            }
            dxs[i] = dx;
        }
        for (int e = 0; e < dxs[0].length; e++) {
            // Both are within their bounds of float64, so within the sum of the bounds of each other.
            float a = dxs[0][e];
            float b = dxs[1][e];
            double tol = tolerances[0][e] + tolerances[1][e];
            assertTrue(Math.abs(a - b) <= tol || (Float.isNaN(a) && Float.isNaN(b)),
                    "simd vs scalar dx " + c + " at " + e + ": " + a + " vs " + b);
        }
    }

    /**
     * TOL of float64, plus the error float64 itself makes when the three terms of dx cancel: when M is tiny and
     * eps = 0, the true dx is 0 and what remains is rounding of invstd amplified by invstd.
     */
    private static double[] dxTolerance(NcsShape sh, Float64Reference.Gradients ref, float[] dy, float[] x,
            float[] gamma, Trained t) {
        double m = sh.perChannel();
        double[] tol = new double[dy.length];
        for (int e = 0; e < dy.length; e++) {
            int ch = (e / sh.s()) % sh.c();
            double g = gamma == null ? 1 : Math.abs(gamma[ch]);
            double k = g * t.invStd[ch];
            double xhat = Math.abs((x[e] - (double) t.mean[ch]) * t.invStd[ch]);
            double terms = k * (Math.abs(dy[e]) + Math.abs(ref.dbeta()[ch]) / m
                    + xhat * Math.abs(ref.dgamma()[ch]) / m);
            tol[e] = TOL * (1 + Math.abs(ref.dx()[e])) + 1e-12 * terms;
        }
        return tol;
    }

    @Test
    void frozenBackwardMatchesFloat64() {
        qt().forAll(recorded(Generators.cases())).checkAssert(BatchNormPropertiesTest::frozenBackwardAgrees);
    }

    static void frozenBackwardAgrees(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] mean = Distribution.uniform(sh.c(), -2, 2, c.seed() + 5);
        float[] var = Distribution.uniform(sh.c(), 0.01f, 4, c.seed() + 6);
        Float64Reference.Gradients ref = Float64Reference.backwardFrozen(sh, dy, x, c.gamma(), mean, var,
                c.eps());
        for (Backend k : IMPLEMENTATIONS) {
            float[] dx = new float[sh.size()];
            float[] dgamma = new float[sh.c()];
            float[] dbeta = new float[sh.c()];
            BatchNormOps.using(k).backwardFrozen(c.dims(), dy, 0, x, 0, c.gamma(), mean, var, c.eps(), dx, 0,
                    dgamma, dbeta);
            Tolerance.assertClose(k.name() + " " + c + " dx", ref.dx(), dx);
            Tolerance.assertClose(k.name() + " " + c + " dgamma", ref.dgamma(), dgamma);
            Tolerance.assertClose(k.name() + " " + c + " dbeta", ref.dbeta(), dbeta);
        }
    }

    @Test
    void backwardMatchesCentralFiniteDifferencesOnSmallShapes() {
        Gen<BnCase> small = Generators.trainable().assuming(c -> c.shape().size() <= 64
                && (c.distribution() == Distribution.NORMAL || c.distribution() == Distribution.UNIFORM));
        qt().withGenerateAttempts(100_000).forAll(recorded(small))
                .checkAssert(BatchNormPropertiesTest::finiteDifferences);
    }

    static void finiteDifferences(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.positiveGamma();
        double eps = Math.max(c.eps(), 1e-3);
        for (Backend k : IMPLEMENTATIONS) {
            BatchNormOps ops = BatchNormOps.using(k);
            float[] mean = new float[sh.c()];
            float[] invStd = new float[sh.c()];
            ops.forwardTraining(c.dims(), x, 0, new float[sh.size()], 0, gamma, null, eps, mean, invStd, null);
            float[] dx = new float[sh.size()];
            ops.backward(c.dims(), dy, 0, x, 0, gamma, mean, invStd, dx, 0, null, null);
            for (int e = 0; e < x.length; e++) {
                double h = 1e-4 * (1 + Math.abs(x[e]));
                double fd = (loss(sh, x, e, h, gamma, eps, dy) - loss(sh, x, e, -h, gamma, eps, dy)) / (2 * h);
                assertTrue(Math.abs(fd - dx[e]) <= 1e-3 * (1 + Math.abs(fd)), k.name() + " " + c + " dx[" + e
                        + "] = " + dx[e] + ", finite difference " + fd);
            }
        }
    }

    /** sum(dy * y(x + h e_at)) with the forward computed in double. */
    private static double loss(NcsShape sh, float[] x, int at, double h, float[] gamma, double eps, float[] dy) {
        double[] xd = new double[x.length];
        for (int e = 0; e < x.length; e++) {
            xd[e] = x[e];
        }
        xd[at] += h;
        double total = 0;
        for (int ch = 0; ch < sh.c(); ch++) {
            double mean = 0;
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    mean += xd[Float64Reference.at(sh, i, ch, j)];
                }
            }
            mean /= sh.perChannel();
            double var = 0;
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    double d = xd[Float64Reference.at(sh, i, ch, j)] - mean;
                    var += d * d;
                }
            }
            var /= sh.perChannel();
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    int e = Float64Reference.at(sh, i, ch, j);
                    total += (double) dy[e] * gamma[ch] * (xd[e] - mean) / Math.sqrt(var + eps);
                }
            }
        }
        return total;
    }

    @Test
    void statisticsOfATensorEqualTheChanMergeOfAnySplitAlongN() {
        qt().forAll(recorded(Generators.cases().assuming(c -> c.shape().n() > 1)))
                .checkAssert(BatchNormPropertiesTest::chanMerge);
    }

    static void chanMerge(BnCase c) {
        NcsShape sh = c.shape();
        float[] x = c.x();
        SplittableRandom r = c.random();
        int n1 = r.nextInt(1, sh.n());
        int n2 = sh.n() - n1;
        int part = n1 * sh.c() * sh.s();
        for (Backend k : IMPLEMENTATIONS) {
            double[] whole = moments(k, x, 0, sh.n(), sh);
            double[] a = moments(k, x, 0, n1, sh);
            double[] b = moments(k, x, part, n2, sh);
            // The same tensor with its batch entries in reverse order.
            float[] reversed = new float[x.length];
            int row = sh.c() * sh.s();
            for (int i = 0; i < sh.n(); i++) {
                System.arraycopy(x, i * row, reversed, (sh.n() - 1 - i) * row, row);
            }
            double[] rev = moments(k, reversed, 0, sh.n(), sh);
            for (int ch = 0; ch < sh.c(); ch++) {
                double ca = (double) n1 * sh.s();
                double cb = (double) n2 * sh.s();
                double delta = b[ch] - a[ch];
                double mergedMean = a[ch] + delta * cb / (ca + cb);
                double m2 = a[sh.c() + ch] * ca + b[sh.c() + ch] * cb + delta * delta * ca * cb / (ca + cb);
                double mergedVar = m2 / (ca + cb);
                double spread = Math.sqrt(whole[sh.c() + ch]);
                String tag = k.name() + " " + c + " split " + n1 + "+" + n2 + " channel " + ch;
                if (!Double.isFinite(whole[ch]) || !Double.isFinite(spread)) {
                    continue;
                }
                double meanTol = 1e-6 * (Math.abs(whole[ch]) + spread) + Double.MIN_NORMAL;
                double varTol = 1e-5 * whole[sh.c() + ch] + Double.MIN_NORMAL;
                assertTrue(Math.abs(mergedMean - whole[ch]) <= meanTol, tag + " mean " + mergedMean + " vs "
                        + whole[ch]);
                assertTrue(Math.abs(mergedVar - whole[sh.c() + ch]) <= varTol, tag + " var " + mergedVar
                        + " vs " + whole[sh.c() + ch]);
                assertTrue(Math.abs(rev[ch] - whole[ch]) <= meanTol, tag + " order changed the mean");
                assertTrue(Math.abs(rev[sh.c() + ch] - whole[sh.c() + ch]) <= varTol,
                        tag + " order changed the variance");
            }
        }
    }

    /** Moments of n batch entries starting at offset, on backend k: means then variances. */
    private static double[] moments(Backend k, float[] x, int offset, int n, NcsShape sh) {
        ChannelMoments m = BatchNormOps.using(k).moments(Layout.CHANNELS_FIRST, new int[] {n, sh.c(), sh.s()}, x,
                offset);
        double[] out = Arrays.copyOf(m.mean(), 2 * sh.c());
        System.arraycopy(m.variance(), 0, out, sh.c(), sh.c());
        return out;
    }

    @Test
    void runningStatisticsFollowTheirRecurrenceAndNullMomentumIsTheCumulativeAverage() {
        qt().forAll(recorded(Generators.trainable()), org.quicktheories.generators.SourceDSL.integers()
                .between(1, 5)).checkAssert((c, steps) -> {
                    NcsShape sh = c.shape();
                    for (Backend k : IMPLEMENTATIONS) {
                        BatchNorm cumulative = new BatchNorm(sh.c(), c.eps(), null, c.affine(), true,
                                BatchNormOps.using(k));
                        double momentum = (c.seed() % 100) / 100.0;
                        BatchNorm exponential = new BatchNorm(sh.c(), c.eps(), momentum, c.affine(), true,
                                BatchNormOps.using(k));
                        double[] sumMean = new double[sh.c()];
                        double[] sumVar = new double[sh.c()];
                        double[] expMean = new double[sh.c()];
                        double[] expVar = new double[sh.c()];
                        Arrays.fill(expVar, 1);
                        for (int step = 1; step <= steps; step++) {
                            BnCase batch = new BnCase(c.dims(), c.distribution(), c.seed() + step, c.eps(), false);
                            float[] x = batch.x();
                            cumulative.forward(c.dims(), x);
                            exponential.forward(c.dims(), x);
                            double[] m = Float64Reference.mean(sh, x);
                            double[] v = Float64Reference.variance(sh, x, m);
                            for (int ch = 0; ch < sh.c(); ch++) {
                                double unbiased = v[ch] * sh.perChannel() / (sh.perChannel() - 1);
                                sumMean[ch] += m[ch];
                                sumVar[ch] += unbiased;
                                expMean[ch] = (float) ((1 - momentum) * (float) expMean[ch] + momentum * m[ch]);
                                expVar[ch] = (float) ((1 - momentum) * (float) expVar[ch] + momentum * unbiased);
                            }
                            double[] cumMean = sumMean.clone();
                            double[] cumVar = sumVar.clone();
                            for (int ch = 0; ch < sh.c(); ch++) {
                                cumMean[ch] /= step;
                                cumVar[ch] /= step;
                            }
                            String tag = k.name() + " " + c + " step " + step;
                            // A running value is rounded to float once per step: allow one ulp per step on top.
                            double tol = TOL * (1 + step * 1e-2);
                            Tolerance.assertClose(tag + " cumulative mean", cumMean, cumulative.runningMean(), tol);
                            Tolerance.assertClose(tag + " cumulative var", cumVar, cumulative.runningVar(), tol);
                            Tolerance.assertClose(tag + " momentum mean", expMean, exponential.runningMean(), tol);
                            Tolerance.assertClose(tag + " momentum var", expVar, exponential.runningVar(), tol);
                            assertEquals(step, cumulative.numBatchesTracked());
                        }
                    }
                });
    }

    private static final java.util.concurrent.ForkJoinPool THREE_THREADS = new java.util.concurrent.ForkJoinPool(3);

    @Test
    void resultsAreBitwiseIdenticalOnThreeThreads() {
        qt().forAll(recorded(Generators.trainable())).checkAssert(c -> {
            NcsShape sh = c.shape();
            float[] x = c.x();
            float[] dy = c.dy();
            for (Backend k : IMPLEMENTATIONS) {
                float[][] results = new float[2][];
                BatchNormOps[] variants = {BatchNormOps.using(k), BatchNormOps.using(k).parallel(THREE_THREADS)};
                for (int v = 0; v < 2; v++) {
                    BatchNormOps ops = variants[v];
                    float[] y = new float[sh.size()];
                    float[] mean = new float[sh.c()];
                    float[] invStd = new float[sh.c()];
                    ops.forwardTraining(c.dims(), x, 0, y, 0, c.gamma(), c.beta(), c.eps(), mean, invStd, null);
                    float[] dx = new float[sh.size()];
                    float[] dgamma = new float[sh.c()];
                    ops.backward(c.dims(), dy, 0, x, 0, c.gamma(), mean, invStd, dx, 0, dgamma, null);
                    float[] inferred = new float[sh.size()];
                    ops.forwardInference(c.dims(), x, 0, inferred, 0, c.gamma(), c.beta(), mean, invStd, c.eps());
                    float[] all = Arrays.copyOf(y, 3 * sh.size() + 3 * sh.c());
                    System.arraycopy(dx, 0, all, sh.size(), sh.size());
                    System.arraycopy(inferred, 0, all, 2 * sh.size(), sh.size());
                    System.arraycopy(mean, 0, all, 3 * sh.size(), sh.c());
                    System.arraycopy(invStd, 0, all, 3 * sh.size() + sh.c(), sh.c());
                    System.arraycopy(dgamma, 0, all, 3 * sh.size() + 2 * sh.c(), sh.c());
                    results[v] = all;
                }
                assertArrayEquals(results[0], results[1], k.name() + " " + c + ": 3 threads changed a bit");
            }
        });
    }

    @Test
    void rejectedInputsThrowAndLeaveOutputsUntouched() {
        Gen<Integer> kinds = org.quicktheories.generators.SourceDSL.integers().between(0, 8);
        qt().forAll(recorded(Generators.trainable()), kinds).checkAssert((c, kind) -> {
            NcsShape sh = c.shape();
            float[] x = c.x();
            float[] y = new float[sh.size()];
            Arrays.fill(y, 7f);
            float[] mean = new float[sh.c()];
            float[] runMean = new float[sh.c()];
            float[] runVar = new float[sh.c()];
            Arrays.fill(mean, 7f);
            Arrays.fill(runMean, 7f);
            Arrays.fill(runVar, 7f);
            int[] dims = c.dims().clone();
            float[] input = x;
            int offset = 0;
            double eps = c.eps();
            float[] gamma = c.gamma();
            switch (kind) {
                case 0 -> input = Arrays.copyOf(x, x.length - 1);
                case 1 -> eps = -Math.max(c.eps(), 1e-9);
                case 2 -> eps = Double.NaN;
                case 3 -> dims = Arrays.copyOf(dims, 6);
                case 4 -> dims[1] = 0;
                case 5 -> offset = 1;
                case 6 -> gamma = new float[sh.c() + 1];
                case 7 -> dims[0] = -dims[0];
                default -> {
                    // Both the same wrong length: RunningStats accepts them, BatchNormOps must reject C + 1.
                    runMean = new float[sh.c() + 1];
                    runVar = new float[sh.c() + 1];
                    Arrays.fill(runMean, 7f);
                    Arrays.fill(runVar, 7f);
                }
            }
            float[] in = input;
            int[] d = dims;
            int off = offset;
            double e = eps;
            float[] g = gamma;
            // Built outside assertThrows: the rejection must come from BatchNormOps' validation.
            RunningStats running = RunningStats.pytorch(runMean, runVar, 0.1);
            for (Backend k : IMPLEMENTATIONS) {
                assertThrows(IllegalArgumentException.class, () -> BatchNormOps.using(k).forwardTraining(d, in, off,
                        y, 0, g, null, e, mean, null, running), "kind " + kind + " " + c);
                for (float v : y) {
                    assertEquals(7f, v, "y written before rejecting kind " + kind);
                }
                for (float v : mean) {
                    assertEquals(7f, v);
                }
                for (float v : runVar) {
                    assertEquals(7f, v);
                }
            }
            assertArrayEquals(c.x(), x, "x modified");
        });
    }
}
