package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.vecnorm.Backend;
import dev.vecnorm.GroupNormOps;
import dev.vecnorm.NcsShape;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/**
 * Properties of GroupNorm ({@link GroupNormOps}), and of InstanceNorm as its case G = C, on generated cases
 * ({@link GroupCase}): every distribution of the engine tests, rank 2 to 5, channels-first and channels-last
 * tensors, C below, at and above the vector lanes, G = 1, G = C and between, random weight and bias (each present
 * or not), random eps, tensors at an offset; scalar and Vector API kernels. QT_EXAMPLES (Maven: 60, or 1000 with
 * -Pdeep) examples per property; a failure prints the seed and the shrunk case.
 */
class GroupNormPropertiesTest {

    static final Backend SCALAR = LayerNormPropertiesTest.SCALAR;
    static final Backend VECTOR = LayerNormPropertiesTest.VECTOR;
    private static final List<Backend> IMPLEMENTATIONS = List.of(SCALAR, VECTOR);
    /** Largest case of the finite-difference property. */
    static final int FD_MAX_ELEMENTS = 160;
    private static final ForkJoinPool THREE = new ForkJoinPool(3);
    private static final Tally TALLY = new Tally();

    @AfterAll
    static void coverage() {
        THREE.shutdown();
        List<String> expected = new java.util.ArrayList<>(GroupCase.expectedClasses());
        expected.add("unit: a group with var > 1000 eps");
        expected.add("finite differences: CHANNELS_LAST");
        expected.add("finite differences: G = C");
        TALLY.report("GroupNormPropertiesTest", expected);
    }

    private static Gen<GroupCase> recorded(Gen<GroupCase> gen) {
        return gen.map(c -> {
            TALLY.hit(c.classes().toArray(String[]::new));
            return c;
        }).describedAs(GroupCase::toString);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The float64 oracle, channels-first, on inputs widened to double before any arithmetic. Sample i's group g is
    // the contiguous run of its channels g*C/G .. (g+1)*C/G - 1, all positions: M = (C/G) * S values.

    /** Per (sample, group), sample-major: two-pass mean, biased variance, 1/sqrt(var + eps); y; y's scales. */
    record Forward(double[] y, double[] mean, double[] variance, double[] invStd, double[] yScale) {
    }

    static Forward forward(NcsShape sh, int groups, double[] x, double[] gamma, double[] beta, double eps) {
        int c = sh.c();
        int s = sh.s();
        int cg = c / groups;
        int m = cg * s;
        double[] y = new double[sh.size()];
        double[] yScale = new double[sh.size()];
        double[] mean = new double[sh.n() * groups];
        double[] var = new double[sh.n() * groups];
        double[] inv = new double[sh.n() * groups];
        for (int i = 0; i < sh.n(); i++) {
            for (int g = 0; g < groups; g++) {
                int from = (i * c + g * cg) * s;
                double sum = 0;
                for (int k = 0; k < m; k++) {
                    sum += x[from + k];
                }
                double mu = sum / m;
                double sq = 0;
                for (int k = 0; k < m; k++) {
                    double xc = x[from + k] - mu;
                    sq += xc * xc;
                }
                double v = sq / m;
                double ri = 1 / Math.sqrt(v + eps);
                double rms = Math.sqrt(v) * ri;
                for (int k = 0; k < m; k++) {
                    int ch = g * cg + k / s;
                    double gm = gamma == null ? 1 : gamma[ch];
                    double xhat = (x[from + k] - mu) * ri;
                    y[from + k] = xhat * gm + (beta == null ? 0 : beta[ch]);
                    yScale[from + k] = Math.abs(gm) * Math.max(Math.abs(xhat), rms);
                }
                mean[i * groups + g] = mu;
                var[i * groups + g] = v;
                inv[i * groups + g] = ri;
            }
        }
        return new Forward(y, mean, var, inv, yScale);
    }

    /**
     * Backward from given statistics (the saved ones, as the API defines it): per group, with g = dy * gamma_c and
     * xhat = (x - mean) * invStd, dx = invStd * (g - sum(g)/M - xhat * sum(g * xhat)/M); per channel dgamma =
     * sum(dy * xhat), dbeta = sum(dy) over samples and positions. Scales as LayerNorm's.
     */
    record Backward(double[] dx, double[] dgamma, double[] dbeta, double[] dxScale, double[] dgammaScale,
            double[] dbetaScale) {
    }

    static Backward backward(NcsShape sh, int groups, double[] dy, double[] x, double[] gamma, double[] mean,
            double[] invStd) {
        int c = sh.c();
        int s = sh.s();
        int cg = c / groups;
        int m = cg * s;
        double[] dx = new double[sh.size()];
        double[] dxScale = new double[sh.size()];
        double[] dgamma = new double[c];
        double[] dbeta = new double[c];
        double[] dgScale = new double[c];
        double[] dbScale = new double[c];
        for (int i = 0; i < sh.n(); i++) {
            for (int g = 0; g < groups; g++) {
                int from = (i * c + g * cg) * s;
                double mu = mean[i * groups + g];
                double ri = invStd[i * groups + g];
                double a = 0;
                double b = 0;
                double aAbs = 0;
                double bAbs = 0;
                for (int k = 0; k < m; k++) {
                    int ch = g * cg + k / s;
                    double gk = dy[from + k] * (gamma == null ? 1 : gamma[ch]);
                    double xhat = (x[from + k] - mu) * ri;
                    a += gk;
                    b += gk * xhat;
                    aAbs += Math.abs(gk);
                    bAbs += Math.abs(gk * xhat);
                    dgamma[ch] += dy[from + k] * xhat;
                    dgScale[ch] += Math.abs(dy[from + k] * xhat);
                    dbeta[ch] += dy[from + k];
                    dbScale[ch] += Math.abs(dy[from + k]);
                }
                for (int k = 0; k < m; k++) {
                    int ch = g * cg + k / s;
                    double gk = dy[from + k] * (gamma == null ? 1 : gamma[ch]);
                    double xhat = (x[from + k] - mu) * ri;
                    dx[from + k] = ri * (gk - a / m - xhat * b / m);
                    dxScale[from + k] = ri * (Math.abs(gk) + aAbs / m + Math.abs(xhat) * bAbs / m);
                }
            }
        }
        return new Backward(dx, dgamma, dbeta, dxScale, dgScale, dbScale);
    }

    static double loss(NcsShape sh, int groups, double[] x, double[] w, double[] gamma, double[] beta, double eps) {
        Forward f = forward(sh, groups, x, gamma, beta, eps);
        double loss = 0;
        for (int i = 0; i < sh.size(); i++) {
            loss += w[i] * f.y[i];
        }
        return loss;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The engine, on tensors in the case's layout placed at its offset; results back in channels-first order.

    record Run(float[] y, float[] mean, float[] invStd) {
    }

    static Run run(GroupNormOps ops, String name, GroupCase c, float[] x, float[] gamma, float[] beta) {
        int n = c.shape().size();
        int off = c.offset();
        int stats = c.shape().n() * c.groups();
        float[] stored = c.stored(x);
        float[] xa = Tensors.placed(stored, off);
        // In place: y written over x, as the API allows.
        float[] ya = c.inPlace() != 0 ? xa : Tensors.output(n, off);
        float[] mean = Tensors.filled(stats, Tensors.UNWRITTEN);
        float[] inv = Tensors.filled(stats, Tensors.UNWRITTEN);
        ops.forward(c.layout(), c.dims(), c.groups(), xa, off, ya, off, gamma, beta, c.eps(), mean, inv);
        if (c.inPlace() == 0) {
            Tensors.unchanged(name + " x", xa, off, stored);
        }
        return new Run(c.logical(Tensors.taken(name + " y", ya, off, n)), mean, inv);
    }

    static Run run(Backend k, GroupCase c, float[] x, float[] gamma, float[] beta) {
        return run(GroupNormOps.using(k), k.name(), c, x, gamma, beta);
    }

    record Grads(float[] dx, float[] dgamma, float[] dbeta) {
    }

    static Grads grads(GroupNormOps ops, String name, GroupCase c, float[] dy, float[] x, float[] gamma,
            float[] mean, float[] invStd) {
        int n = c.shape().size();
        int off = c.offset();
        float[] dyStored = c.stored(dy);
        float[] xStored = c.stored(x);
        float[] dya = Tensors.placed(dyStored, off);
        float[] xa = Tensors.placed(xStored, off);
        // In place: dx written over dy or over x, as the API allows.
        float[] dxa = c.inPlace() == GroupCase.OVER_DY ? dya : c.inPlace() == GroupCase.OVER_X ? xa
                : Tensors.output(n, off);
        float[] dgamma = Tensors.filled(c.dims()[1], Tensors.UNWRITTEN);
        float[] dbeta = Tensors.filled(c.dims()[1], Tensors.UNWRITTEN);
        ops.backward(c.layout(), c.dims(), c.groups(), dya, off, xa, off, gamma, mean, invStd, dxa, off, dgamma,
                dbeta);
        if (dxa != dya) {
            Tensors.unchanged(name + " dy", dya, off, dyStored);
        }
        if (dxa != xa) {
            Tensors.unchanged(name + " x", xa, off, xStored);
        }
        return new Grads(c.logical(Tensors.taken(name + " dx", dxa, off, n)), dgamma, dbeta);
    }

    static Grads grads(Backend k, GroupCase c, float[] dy, float[] x, float[] gamma, float[] mean,
            float[] invStd) {
        return grads(GroupNormOps.using(k), k.name(), c, dy, x, gamma, mean, invStd);
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. Normalized groups.

    @Test
    void unitWeightAndZeroBiasGiveGroupsOfMeanZeroAndVarianceOne() {
        qt().forAll(recorded(GroupCase.cases(Generators.MAX_ELEMENTS)))
                .checkAssert(GroupNormPropertiesTest::unitGroups);
    }

    static void unitGroups(GroupCase c) {
        unitGroups(c, IMPLEMENTATIONS);
    }

    static void unitGroups(GroupCase c, List<Backend> implementations) {
        NcsShape sh = c.shape();
        int groups = c.groups();
        int m = c.groupSize();
        float[] x = c.x();
        double[] xd = Bar.widen(x);
        float[] ones = (c.affine() & GroupCase.WEIGHT) != 0 ? Tensors.filled(sh.c(), 1f) : null;
        float[] zeros = (c.affine() & GroupCase.BIAS) != 0 ? new float[sh.c()] : null;
        Forward ref = forward(sh, groups, xd, null, null, c.eps());
        for (Backend k : implementations) {
            float[] y = run(k, c, x, ones, zeros).y;
            for (int i = 0; i < sh.n(); i++) {
                for (int g = 0; g < groups; g++) {
                    String where = k.name() + " " + c + " sample " + i + " group " + g;
                    int from = (i * sh.c() + g * c.perGroup()) * sh.s();
                    int stat = i * groups + g;
                    double var = ref.variance[stat];
                    if (var + c.eps() == 0) {
                        // A constant group and eps = 0: 0/0, NaN as in PyTorch.
                        for (int e = from; e < from + m; e++) {
                            assertTrue(Float.isNaN(y[e]), where + ": 0/0 gave " + y[e]);
                        }
                        continue;
                    }
                    double sum = 0;
                    double abs = 0;
                    double maxX = 0;
                    for (int e = from; e < from + m; e++) {
                        sum += y[e];
                        abs += Math.abs(y[e]);
                        maxX = Math.max(maxX, Math.abs(xd[e]));
                    }
                    double meanY = sum / m;
                    double sq = 0;
                    double sqAbout0 = 0;
                    for (int e = from; e < from + m; e++) {
                        double d = y[e] - meanY;
                        sq += d * d;
                        sqAbout0 += (double) y[e] * y[e];
                    }
                    double varY = sq / m;
                    // As LayerNorm's rows: mean(y) = 0 and var(y) = var / (var + eps) = 1 - eps / (var + eps) in real
                    // arithmetic, eps accounted for exactly; float32 rounding of the group's scale (2^-24 shared) and
                    // of each y (at most three roundings of 2^-24 |y|) is covered by 16 u; the mean also carries the
                    // engine's mean error times invStd: double sums of M values (channels-last: of each channel's S,
                    // then their mean) are off by at most M 2^-53 max|x|, and hi + lo holds it to 2^-48 |mean|.
                    double invStd = ref.invStd[stat];
                    double meanTol = 16 * Bar.U * abs / m
                            + (m * 0x1p-53 * maxX + 0x1p-48 * Math.abs(ref.mean[stat])) * invStd;
                    double expected = var / (var + c.eps());
                    double varTol = 16 * Bar.U * sqAbout0 / m;
                    assertTrue(Math.abs(meanY) <= meanTol, where + ": mean " + meanY + " (allowed " + meanTol + ")");
                    assertTrue(Math.abs(varY - expected) <= varTol, where + ": variance " + varY + ", expected "
                            + expected + " (allowed " + varTol + ")");
                    if (var > 1000 * c.eps()) {
                        TALLY.hit("unit: a group with var > 1000 eps");
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. Agreement with float64.

    @Test
    void forwardStatisticsAndBackwardAgreeWithFloat64() {
        qt().forAll(recorded(GroupCase.cases(Generators.MAX_ELEMENTS)))
                .checkAssert(GroupNormPropertiesTest::agreesWithFloat64);
    }

    static void agreesWithFloat64(GroupCase c) {
        agreesWithFloat64(c, IMPLEMENTATIONS);
    }

    static void agreesWithFloat64(GroupCase c, List<Backend> implementations) {
        NcsShape sh = c.shape();
        int groups = c.groups();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        double[] gd = Bar.widen(gamma);
        Forward ref = forward(sh, groups, xd, gd, Bar.widen(beta), c.eps());
        double[] std = Arrays.stream(ref.variance).map(Math::sqrt).toArray();
        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run got = run(k, c, x, gamma, beta);
            Bar.check(tag + " y", ref.y, got.y, ref.yScale, null);
            // The mean on the scale of the group's spread, invStd relative: no absolute floor (data of 1e-20).
            Bar.check(tag + " saved mean", ref.mean, got.mean, std, null);
            Bar.check(tag + " saved invStd", ref.invStd, got.invStd, null, null);
            Backward want = backward(sh, groups, Bar.widen(dy), xd, gd, Bar.widen(got.mean), Bar.widen(got.invStd));
            Grads g = grads(k, c, dy, x, gamma, got.mean, got.invStd);
            Bar.check(tag + " dx", want.dx, g.dx, want.dxScale, LayerNormPropertiesTest.float64Resolution(
                    want.dxScale));
            Bar.check(tag + " dgamma", want.dgamma, g.dgamma, want.dgammaScale, null);
            Bar.check(tag + " dbeta", want.dbeta, g.dbeta, want.dbetaScale, null);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. Backward against finite differences of the float64 forward.

    @Test
    void backwardMatchesFiniteDifferencesOfTheFloat64Forward() {
        Gen<GroupCase> small = GroupCase.cases(FD_MAX_ELEMENTS).assuming(GroupNormPropertiesTest::nonDegenerate);
        qt().withGenerateAttempts(10_000).forAll(recorded(small))
                .checkAssert(GroupNormPropertiesTest::finiteDifferences);
    }

    /** Every group has var + eps > 0: the forward is differentiable everywhere. */
    static boolean nonDegenerate(GroupCase c) {
        Forward f = forward(c.shape(), c.groups(), Bar.widen(c.x()), null, null, c.eps());
        return Arrays.stream(f.invStd).allMatch(Double::isFinite);
    }

    static void finiteDifferences(GroupCase c) {
        finiteDifferences(c, IMPLEMENTATIONS);
    }

    static void finiteDifferences(GroupCase c, List<Backend> implementations) {
        NcsShape sh = c.shape();
        int groups = c.groups();
        int cg = c.perGroup();
        int m = c.groupSize();
        float[] x = c.x();
        float[] w = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        double[] wd = Bar.widen(w);
        double[] gd = gamma == null ? Bar.fill(sh.c(), 1) : Bar.widen(gamma);
        double[] bd = beta == null ? new double[sh.c()] : Bar.widen(beta);
        double[] zeros = new double[sh.c()];
        TALLY.hit("finite differences: " + c.layout());
        if (groups == sh.c()) {
            TALLY.hit("finite differences: G = C");
        }
        if (c.eps() == 0) {
            TALLY.hit("finite differences: eps = 0");
        }
        // As LayerNorm's: y depends on x only through x - mean, so everything is computed on each group shifted by
        // its float64 mean (the residual mean then resolved to full precision, the steps not rounded to an offset);
        // sum(w * y) = sum(w * xhat * gamma) + sum(w * beta), each derivative taken of its own part; x enters only
        // its group's loss, differenced with a step of 1e-3 of the group's sqrt(var + eps); a group's loss is
        // computed to within M 2^-52 sum|w gamma| max|xhat|.
        double[] xs = xd.clone();
        double[] groupMean = forward(sh, groups, xd, null, null, c.eps()).mean;
        for (int e = 0; e < xs.length; e++) {
            xs[e] -= groupMean[e / m];
        }
        Forward exact = forward(sh, groups, xs, gd, bd, c.eps());
        Backward atExact = backward(sh, groups, wd, xs, gd, exact.mean, exact.invStd);
        double[] fdDx = new double[sh.size()];
        double[] fdDxError = new double[sh.size()];
        double allLossError = 0;
        for (int i = 0; i < sh.n(); i++) {
            for (int g = 0; g < groups; g++) {
                int from = (i * sh.c() + g * cg) * sh.s();
                int stat = i * groups + g;
                double[] seg = Arrays.copyOfRange(xs, from, from + m);
                double[] wSeg = Arrays.copyOfRange(wd, from, from + m);
                double[] gSeg = new double[m];
                double maxXhat = 0;
                double wg = 0;
                for (int k = 0; k < m; k++) {
                    gSeg[k] = gd[g * cg + k / sh.s()];
                    maxXhat = Math.max(maxXhat, Math.abs(seg[k]) * exact.invStd[stat]);
                    wg += Math.abs(wSeg[k] * gSeg[k]);
                }
                double lossError = m * 0x1p-52 * wg * maxXhat;
                allLossError += sh.n() * groups * lossError;
                double[] noBias = new double[m];
                double h = 1e-3 / exact.invStd[stat];
                for (int k = 0; k < m; k++) {
                    int at = k;
                    FiniteDifference fd = FiniteDifference.of(t -> {
                        double[] moved = seg.clone();
                        moved[at] += t;
                        return LayerNormPropertiesTest.rowLoss(m, moved, wSeg, gSeg, noBias, c.eps());
                    }, h, 2 * lossError);
                    fdDx[from + k] = fd.value();
                    fdDxError[from + k] = fd.error();
                }
            }
        }
        double betaLossError = 0;
        for (int e = 0; e < sh.size(); e++) {
            betaLossError += sh.size() * 0x1p-52 * Math.abs(wd[e] * bd[(e / sh.s()) % sh.c()]);
        }
        double[] fdDg = new double[sh.c()];
        double[] fdDgError = new double[sh.c()];
        double[] fdDb = new double[sh.c()];
        double[] fdDbError = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            int at = ch;
            FiniteDifference fg = FiniteDifference.of(t -> {
                double[] moved = gd.clone();
                moved[at] += t;
                return loss(sh, groups, xs, wd, moved, zeros, c.eps());
            }, 1e-3, 2 * allLossError);
            FiniteDifference fb = FiniteDifference.of(t -> {
                double[] moved = bd.clone();
                moved[at] += t;
                return loss(sh, groups, xs, wd, zeros, moved, c.eps());
            }, 1e-3, 2 * betaLossError);
            fdDg[ch] = fg.value();
            fdDgError[ch] = fg.error();
            fdDb[ch] = fb.value();
            fdDbError[ch] = fb.error();
        }

        LayerNormPropertiesTest.checkDerivative(c + " float64 backward dx", fdDx, fdDxError, atExact.dx,
                atExact.dxScale, fdDx, new double[sh.size()]);
        LayerNormPropertiesTest.checkDerivative(c + " float64 backward dgamma", fdDg, fdDgError, atExact.dgamma,
                atExact.dgammaScale, fdDg, new double[sh.c()]);
        LayerNormPropertiesTest.checkDerivative(c + " float64 backward dbeta", fdDb, fdDbError, atExact.dbeta,
                atExact.dbetaScale, fdDb, new double[sh.c()]);
        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run run = run(k, c, x, gamma, beta);
            Grads g = grads(k, c, w, x, gamma, run.mean, run.invStd);
            // The API's backward is defined from the saved float statistics: it differs from the derivative by
            // what rounding them to float changes (atSaved - atExact, in float64).
            Backward atSaved = backward(sh, groups, wd, xd, gd, Bar.widen(run.mean), Bar.widen(run.invStd));
            LayerNormPropertiesTest.checkDerivative(tag + " dx", fdDx, fdDxError, Bar.widen(g.dx), atExact.dxScale,
                    atSaved.dx, LayerNormPropertiesTest.difference(atSaved.dx, atExact.dx));
            LayerNormPropertiesTest.checkDerivative(tag + " dgamma", fdDg, fdDgError, Bar.widen(g.dgamma),
                    atExact.dgammaScale, atSaved.dgamma, LayerNormPropertiesTest.difference(atSaved.dgamma,
                            atExact.dgamma));
            LayerNormPropertiesTest.checkDerivative(tag + " dbeta", fdDb, fdDbError, Bar.widen(g.dbeta),
                    atExact.dbetaScale, atSaved.dbeta, LayerNormPropertiesTest.difference(atSaved.dbeta,
                            atExact.dbeta));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 4. Vector API kernels against the scalar reference.

    @Test
    void vectorKernelsAgreeWithTheScalarReference() {
        qt().forAll(recorded(GroupCase.cases(Generators.MAX_ELEMENTS)))
                .checkAssert(GroupNormPropertiesTest::vectorMatchesScalar);
    }

    static void vectorMatchesScalar(GroupCase c) {
        vectorMatchesScalar(c, SCALAR, VECTOR);
    }

    static void vectorMatchesScalar(GroupCase c, Backend scalar, Backend vector) {
        NcsShape sh = c.shape();
        int groups = c.groups();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        Forward ref = forward(sh, groups, xd, Bar.widen(gamma), Bar.widen(beta), c.eps());
        double[] std = Arrays.stream(ref.variance).map(Math::sqrt).toArray();
        String tag = vector.name() + " vs " + scalar.name() + " " + c;
        Run s = run(scalar, c, x, gamma, beta);
        Run v = run(vector, c, x, gamma, beta);
        Bar.check(tag + " y", Bar.widen(s.y), v.y, ref.yScale, null);
        Bar.check(tag + " saved mean", Bar.widen(s.mean), v.mean, std, null);
        Bar.check(tag + " saved invStd", Bar.widen(s.invStd), v.invStd, null, null);
        // Both backward passes from one set of saved statistics, so that only the kernels differ.
        Grads gs = grads(scalar, c, dy, x, gamma, s.mean, s.invStd);
        Grads gv = grads(vector, c, dy, x, gamma, s.mean, s.invStd);
        Backward scales = backward(sh, groups, Bar.widen(dy), xd, Bar.widen(gamma), Bar.widen(s.mean),
                Bar.widen(s.invStd));
        Bar.check(tag + " dx", Bar.widen(gs.dx), gv.dx, scales.dxScale, LayerNormPropertiesTest.float64Resolution(
                scales.dxScale));
        Bar.check(tag + " dgamma", Bar.widen(gs.dgamma), gv.dgamma, scales.dgammaScale, null);
        Bar.check(tag + " dbeta", Bar.widen(gs.dbeta), gv.dbeta, scales.dbetaScale, null);
    }

    // ---------------------------------------------------------------------------------------------------------
    // 5. Threads.

    @Test
    void threeThreadsGiveTheBitsOfOne() {
        qt().forAll(recorded(GroupCase.cases(Generators.MAX_ELEMENTS))).checkAssert(c -> {
            float[] x = c.x();
            float[] dy = c.dy();
            float[] gamma = c.gamma();
            float[] beta = c.beta();
            for (Backend k : IMPLEMENTATIONS) {
                GroupNormOps one = GroupNormOps.using(k);
                GroupNormOps three = GroupNormOps.using(k).parallel(THREE);
                Run a = run(one, k.name(), c, x, gamma, beta);
                Run b = run(three, k.name() + " on 3 threads", c, x, gamma, beta);
                Grads ga = grads(one, k.name(), c, dy, x, gamma, a.mean, a.invStd);
                Grads gb = grads(three, k.name() + " on 3 threads", c, dy, x, gamma, a.mean, a.invStd);
                String tag = k.name() + " " + c + ": 3 threads changed a bit of ";
                assertArrayEquals(a.y, b.y, tag + "y");
                assertArrayEquals(a.mean, b.mean, tag + "the saved mean");
                assertArrayEquals(a.invStd, b.invStd, tag + "the saved invStd");
                assertArrayEquals(ga.dx, gb.dx, tag + "dx");
                assertArrayEquals(ga.dgamma, gb.dgamma, tag + "dgamma");
                assertArrayEquals(ga.dbeta, gb.dbeta, tag + "dbeta");
            }
        });
    }
}
