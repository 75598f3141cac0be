package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;

import dev.vecnorm.Backend;
import dev.vecnorm.LayerNormOps;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/**
 * Properties of LayerNorm ({@link LayerNormOps}) on generated cases ({@link RowCase}): every distribution of the
 * engine tests, rank 1 to 4 with the axis given either way, normalized widths on both sides of every vector tail,
 * random weight and bias (each present or not), random eps, tensors at an offset. Each property runs the scalar
 * and the Vector API kernels. QT_EXAMPLES (Maven: 60, or 1000 with -Pdeep) examples per property; a failure
 * prints the seed and the shrunk case.
 */
class LayerNormPropertiesTest {

    static final Backend SCALAR = Backend.scalarReference();
    static final Backend VECTOR = Backend.vector().orElseThrow(() -> new AssertionError("proptest runs "
            + "with --add-modules jdk.incubator.vector: " + Backend.vectorUnavailableReason().orElse("")));
    private static final List<Backend> IMPLEMENTATIONS = List.of(SCALAR, VECTOR);
    /** Largest case of the finite-difference property (O(size * D) double forward passes per case). */
    static final int FD_MAX_ELEMENTS = 160;
    private static final Tally TALLY = new Tally();

    @AfterAll
    static void coverage() {
        List<String> expected = new java.util.ArrayList<>(RowCase.expectedClasses(true));
        expected.add("unit: a row with var > 1000 eps");
        TALLY.report("LayerNormPropertiesTest", expected);
    }

    private static Gen<RowCase> recorded(Gen<RowCase> gen) {
        return gen.map(c -> {
            TALLY.hit(c.classes().toArray(String[]::new));
            return c;
        }).describedAs(RowCase::toString);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The float64 oracle, from the formulas, on inputs widened to double before any arithmetic.

    /** Per row: two-pass mean, biased variance, 1/sqrt(var + eps); y; and the natural scale of each y. */
    record Forward(double[] y, double[] mean, double[] variance, double[] invStd, double[] yScale) {
        double std(int row) {
            return Math.sqrt(variance[row]);
        }
    }

    static Forward forward(int r, int d, double[] x, double[] gamma, double[] beta, double eps) {
        double[] y = new double[r * d];
        double[] yScale = new double[r * d];
        double[] mean = new double[r];
        double[] var = new double[r];
        double[] inv = new double[r];
        for (int row = 0; row < r; row++) {
            int at = row * d;
            double sum = 0;
            for (int j = 0; j < d; j++) {
                sum += x[at + j];
            }
            double mu = sum / d;
            double sq = 0;
            for (int j = 0; j < d; j++) {
                double xc = x[at + j] - mu;
                sq += xc * xc;
            }
            double v = sq / d;
            double ri = 1 / Math.sqrt(v + eps);
            // The row's normalized outputs have root mean square sqrt(v) * ri; an element's y is made of
            // xhat * gamma (its rounding scales with |xhat|, or that rms for an xhat near 0) plus beta.
            double rms = Math.sqrt(v) * ri;
            for (int j = 0; j < d; j++) {
                double g = gamma == null ? 1 : gamma[j];
                double xhat = (x[at + j] - mu) * ri;
                y[at + j] = xhat * g + (beta == null ? 0 : beta[j]);
                yScale[at + j] = Math.abs(g) * Math.max(Math.abs(xhat), rms);
            }
            mean[row] = mu;
            var[row] = v;
            inv[row] = ri;
        }
        return new Forward(y, mean, var, inv, yScale);
    }

    /** sum(w * y) over one row, for finite differences. */
    static double rowLoss(int d, double[] xRow, double[] wRow, double[] gamma, double[] beta, double eps) {
        Forward f = forward(1, d, xRow, gamma, beta, eps);
        double loss = 0;
        for (int j = 0; j < d; j++) {
            loss += wRow[j] * f.y[j];
        }
        return loss;
    }

    /**
     * Backward from given statistics (the saved ones, as the API defines it): with g = dy * gamma and
     * xhat = (x - mean) * invStd, dx = invStd * (g - sum(g)/D - xhat * sum(g * xhat)/D); dgamma = sum over rows of
     * dy * xhat, dbeta of dy. Scales: for dx the magnitudes of its three terms (with sums of magnitudes), for
     * dgamma and dbeta the sums of the magnitudes they add.
     */
    record Backward(double[] dx, double[] dgamma, double[] dbeta, double[] dxScale, double[] dgammaScale,
            double[] dbetaScale) {
    }

    static Backward backward(int r, int d, double[] dy, double[] x, double[] gamma, double[] mean,
            double[] invStd) {
        double[] dx = new double[r * d];
        double[] dxScale = new double[r * d];
        double[] dgamma = new double[d];
        double[] dbeta = new double[d];
        double[] dgScale = new double[d];
        double[] dbScale = new double[d];
        for (int row = 0; row < r; row++) {
            int at = row * d;
            double mu = mean[row];
            double ri = invStd[row];
            double a = 0;
            double b = 0;
            double aAbs = 0;
            double bAbs = 0;
            for (int j = 0; j < d; j++) {
                double g = dy[at + j] * (gamma == null ? 1 : gamma[j]);
                double xhat = (x[at + j] - mu) * ri;
                a += g;
                b += g * xhat;
                aAbs += Math.abs(g);
                bAbs += Math.abs(g * xhat);
                dgamma[j] += dy[at + j] * xhat;
                dgScale[j] += Math.abs(dy[at + j] * xhat);
                dbeta[j] += dy[at + j];
                dbScale[j] += Math.abs(dy[at + j]);
            }
            for (int j = 0; j < d; j++) {
                double g = dy[at + j] * (gamma == null ? 1 : gamma[j]);
                double xhat = (x[at + j] - mu) * ri;
                dx[at + j] = ri * (g - a / d - xhat * b / d);
                dxScale[at + j] = ri * (Math.abs(g) + aAbs / d + Math.abs(xhat) * bAbs / d);
            }
        }
        return new Backward(dx, dgamma, dbeta, dxScale, dgScale, dbScale);
    }

    /**
     * What float64 itself resolves of dx, a difference of terms that can cancel: about 2^-50 of their magnitude
     * per operation over sums of up to 40 000 terms; allowed on top of the bar (it matters only where the terms
     * are 1e5 or more times dx, as with two values and eps = 0, where dx is 0 in real arithmetic).
     */
    static double[] float64Resolution(double[] dxScale) {
        double[] s = new double[dxScale.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = 1e-12 * dxScale[i];
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The engine, on tensors placed at the case's offset in larger arrays.

    record Run(float[] y, float[] mean, float[] invStd) {
    }

    static Run run(Backend k, RowCase c, float[] x, float[] gamma, float[] beta) {
        int n = c.size();
        int off = c.offset();
        float[] xa = Tensors.placed(x, off);
        // In place: y written over x, as the API allows.
        float[] ya = c.inPlace() ? xa : Tensors.output(n, off);
        float[] mean = Tensors.filled(c.rows(), Tensors.UNWRITTEN);
        float[] inv = Tensors.filled(c.rows(), Tensors.UNWRITTEN);
        LayerNormOps.using(k).forward(c.shape(), c.axis(), xa, off, ya, off, gamma, beta, c.eps(), mean, inv);
        if (!c.inPlace()) {
            Tensors.unchanged(k.name() + " x", xa, off, x);
        }
        return new Run(Tensors.taken(k.name() + " y", ya, off, n), mean, inv);
    }

    record Grads(float[] dx, float[] dgamma, float[] dbeta) {
    }

    static Grads grads(Backend k, RowCase c, float[] dy, float[] x, float[] gamma, float[] mean,
            float[] invStd) {
        int n = c.size();
        int off = c.offset();
        float[] dya = Tensors.placed(dy, off);
        float[] xa = Tensors.placed(x, off);
        float[] dxa = Tensors.output(n, off);
        float[] dgamma = Tensors.filled(c.width(), Tensors.UNWRITTEN);
        float[] dbeta = Tensors.filled(c.width(), Tensors.UNWRITTEN);
        LayerNormOps.using(k).backward(c.shape(), c.axis(), dya, off, xa, off, gamma, mean, invStd, dxa, off,
                dgamma, dbeta);
        Tensors.unchanged(k.name() + " dy", dya, off, dy);
        Tensors.unchanged(k.name() + " x", xa, off, x);
        return new Grads(Tensors.taken(k.name() + " dx", dxa, off, n), dgamma, dbeta);
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. Normalized rows.

    @Test
    void unitWeightAndZeroBiasGiveRowsOfMeanZeroAndVarianceOne() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, true)))
                .checkAssert(LayerNormPropertiesTest::unitRows);
    }

    static void unitRows(RowCase c) {
        unitRows(c, IMPLEMENTATIONS);
    }

    static void unitRows(RowCase c, List<Backend> implementations) {
        int r = c.rows();
        int d = c.width();
        float[] x = c.x();
        double[] xd = Bar.widen(x);
        // Unit weight and zero bias, either given (ones, zeros: the element-wise pass runs) or left out (null).
        float[] ones = (c.affine() & RowCase.WEIGHT) != 0 ? Tensors.filled(d, 1f) : null;
        float[] zeros = (c.affine() & RowCase.BIAS) != 0 ? new float[d] : null;
        Forward ref = forward(r, d, xd, null, null, c.eps());
        for (Backend k : implementations) {
            float[] y = run(k, c, x, ones, zeros).y;
            for (int row = 0; row < r; row++) {
                String where = k.name() + " " + c + " row " + row;
                double var = ref.variance[row];
                if (var + c.eps() == 0) {
                    // A constant row and eps = 0: 0/0, NaN as in PyTorch.
                    for (int j = 0; j < d; j++) {
                        assertTrue(Float.isNaN(y[row * d + j]), where + ": 0/0 gave " + y[row * d + j]);
                    }
                    continue;
                }
                double sum = 0;
                double abs = 0;
                double maxX = 0;
                for (int j = 0; j < d; j++) {
                    sum += y[row * d + j];
                    abs += Math.abs(y[row * d + j]);
                    maxX = Math.max(maxX, Math.abs(xd[row * d + j]));
                }
                double meanY = sum / d;
                double sq = 0;
                double sqAbout0 = 0;
                for (int j = 0; j < d; j++) {
                    double e = y[row * d + j] - meanY;
                    sq += e * e;
                    sqAbout0 += (double) y[row * d + j] * y[row * d + j];
                }
                double varY = sq / d;
                // In real arithmetic, from the row's exact mean and variance: mean(y) = 0 and var(y) =
                // var / (var + eps) = 1 - eps / (var + eps). eps is accounted for exactly (1 - var(y) is below 1e-3
                // once var > 1000 eps), not as slack; what is left is float32 rounding. invStd is rounded to float
                // once per row (a relative 2^-24 shared by the row, 2 * 2^-24 on var(y)); each y by at most three
                // roundings of 2^-24 |y| (x - hi, - lo, * scale), which move mean(y) by 3 u mean|y| and var(y) by
                // 6 u mean(y^2). 16 u covers both. The mean also carries the engine's mean error, times invStd: a
                // double sum of D values is off by at most D 2^-53 max|x|, and the mean is applied as the float pair
                // hi + lo (2^-48 |mean|).
                double invStd = ref.invStd[row];
                double meanTol = 16 * Bar.U * abs / d
                        + (d * 0x1p-53 * maxX + 0x1p-48 * Math.abs(ref.mean[row])) * invStd;
                double expected = var / (var + c.eps());
                double varTol = 16 * Bar.U * sqAbout0 / d;
                assertTrue(Math.abs(meanY) <= meanTol, where + ": mean " + meanY + " (allowed " + meanTol + ")");
                assertTrue(Math.abs(varY - expected) <= varTol, where + ": variance " + varY + ", expected "
                        + expected + " (allowed " + varTol + ")");
                if (var > 1000 * c.eps()) {
                    TALLY.hit("unit: a row with var > 1000 eps");
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. Agreement with float64.

    @Test
    void forwardStatisticsAndBackwardAgreeWithFloat64() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, true)))
                .checkAssert(LayerNormPropertiesTest::agreesWithFloat64);
    }

    static void agreesWithFloat64(RowCase c) {
        agreesWithFloat64(c, IMPLEMENTATIONS);
    }

    static void agreesWithFloat64(RowCase c, List<Backend> implementations) {
        int r = c.rows();
        int d = c.width();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        double[] gd = Bar.widen(gamma);
        Forward ref = forward(r, d, xd, gd, Bar.widen(beta), c.eps());
        double[] std = new double[r];
        for (int row = 0; row < r; row++) {
            std[row] = ref.std(row);
        }
        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run got = run(k, c, x, gamma, beta);
            Bar.check(tag + " y", ref.y, got.y, ref.yScale, null);
            // The mean on the scale of the row's spread, invStd relative: no absolute floor (data of 1e-20).
            Bar.check(tag + " saved mean", ref.mean, got.mean, std, null);
            Bar.check(tag + " saved invStd", ref.invStd, got.invStd, null, null);
            // The backward from the statistics this forward saved, the oracle from the same.
            Backward want = backward(r, d, Bar.widen(dy), xd, gd, Bar.widen(got.mean), Bar.widen(got.invStd));
            Grads g = grads(k, c, dy, x, gamma, got.mean, got.invStd);
            Bar.check(tag + " dx", want.dx, g.dx, want.dxScale, float64Resolution(want.dxScale));
            Bar.check(tag + " dgamma", want.dgamma, g.dgamma, want.dgammaScale, null);
            Bar.check(tag + " dbeta", want.dbeta, g.dbeta, want.dbetaScale, null);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. Backward against finite differences of the float64 forward.

    @Test
    void backwardMatchesFiniteDifferencesOfTheFloat64Forward() {
        Gen<RowCase> small = RowCase.cases(FD_MAX_ELEMENTS, true).assuming(LayerNormPropertiesTest::nonDegenerate);
        qt().withGenerateAttempts(10_000).forAll(recorded(small))
                .checkAssert(LayerNormPropertiesTest::finiteDifferences);
    }

    /** Every row has var + eps > 0: the forward is differentiable everywhere. */
    static boolean nonDegenerate(RowCase c) {
        Forward f = forward(c.rows(), c.width(), Bar.widen(c.x()), null, null, c.eps());
        for (double inv : f.invStd) {
            if (!Double.isFinite(inv)) {
                return false;
            }
        }
        return true;
    }

    static void finiteDifferences(RowCase c) {
        finiteDifferences(c, IMPLEMENTATIONS);
    }

    static void finiteDifferences(RowCase c, List<Backend> implementations) {
        int r = c.rows();
        int d = c.width();
        float[] x = c.x();
        float[] w = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        double[] wd = Bar.widen(w);
        // Derivatives with respect to the weight and bias in use: ones and zeros when left out.
        double[] gd = gamma == null ? Bar.fill(d, 1) : Bar.widen(gamma);
        double[] bd = beta == null ? new double[d] : Bar.widen(beta);
        if (c.eps() == 0) {
            TALLY.hit("finite differences: eps = 0");
        }
        // y depends on x only through x - mean: everything below is computed on each row shifted by its float64
        // mean (exact for values near it). A double holds the mean of data at 1e4 only to 1e-12, which for three
        // values 5e-4 apart is 2e-9 of their spread and moves dx by 1e-5; the residual mean of the shifted row is
        // resolved to full precision, and a step is not rounded to the resolution of the offset.
        double[] xs = xd.clone();
        double[] rowMean = forward(r, d, xd, null, null, c.eps()).mean;
        for (int i = 0; i < xs.length; i++) {
            xs[i] -= rowMean[i / d];
        }
        Forward exact = forward(r, d, xs, gd, bd, c.eps());
        Backward atExact = backward(r, d, wd, xs, gd, exact.mean, exact.invStd);
        // sum(w * y) = sum(w * xhat * gamma) + sum(w * beta): each derivative is taken of the part that holds its
        // variable (beta left out for x and gamma, gamma for beta), so that the difference is not rounded on the
        // scale of a part that does not move.
        double[] zeros = new double[d];
        // d sum(w * y) / dx, one row at a time (x enters only its own row's loss), with a step of 1e-3 of the row's
        // sqrt(var + eps): the scale on which y curves, so the truncation error is ~1e-12 relative everywhere.
        // A row's loss sum(w * xhat * gamma) is computed in double to within D 2^-52 sum|w gamma| max|xhat|: the
        // sum's rounding, and the mean's, which moves every xhat (the oracle rounds like the recursive sum).
        double[] fdDx = new double[r * d];
        double[] fdDxError = new double[r * d];
        double[] lossError = new double[r];
        for (int row = 0; row < r; row++) {
            double[] xRow = java.util.Arrays.copyOfRange(xs, row * d, (row + 1) * d);
            double[] wRow = java.util.Arrays.copyOfRange(wd, row * d, (row + 1) * d);
            double maxXhat = 0;
            double wg = 0;
            for (int j = 0; j < d; j++) {
                maxXhat = Math.max(maxXhat, Math.abs(xRow[j]) * exact.invStd[row]);
                wg += Math.abs(wRow[j] * gd[j]);
            }
            lossError[row] = d * 0x1p-52 * wg * maxXhat;
            double h = 1e-3 / exact.invStd[row];
            for (int j = 0; j < d; j++) {
                int at = j;
                FiniteDifference fd = FiniteDifference.of(t -> {
                    double[] moved = xRow.clone();
                    moved[at] += t;
                    return rowLoss(d, moved, wRow, gd, zeros, c.eps());
                }, h, 2 * lossError[row]);
                fdDx[row * d + j] = fd.value();
                fdDxError[row * d + j] = fd.error();
            }
        }
        // Linear in gamma and in beta: these differences are exact but for rounding, of all rows' losses.
        double gammaLossError = 0;
        double betaLossError = 0;
        for (int row = 0; row < r; row++) {
            gammaLossError += 2 * lossError[row];
            for (int j = 0; j < d; j++) {
                betaLossError += r * d * 0x1p-52 * Math.abs(wd[row * d + j] * bd[j]);
            }
        }
        double[] fdDg = new double[d];
        double[] fdDgError = new double[d];
        double[] fdDb = new double[d];
        double[] fdDbError = new double[d];
        for (int j = 0; j < d; j++) {
            int at = j;
            FiniteDifference fg = FiniteDifference.of(t -> {
                double[] moved = gd.clone();
                moved[at] += t;
                return loss(r, d, xs, wd, moved, zeros, c.eps());
            }, 1e-3, r * gammaLossError);
            FiniteDifference fb = FiniteDifference.of(t -> {
                double[] moved = bd.clone();
                moved[at] += t;
                return loss(r, d, xs, wd, zeros, moved, c.eps());
            }, 1e-3, 2 * betaLossError);
            fdDg[j] = fg.value();
            fdDgError[j] = fg.error();
            fdDb[j] = fb.value();
            fdDbError[j] = fb.error();
        }

        // The oracle of property 2, at the exact statistics, is the derivative: checked here.
        checkDerivative(c + " float64 backward dx", fdDx, fdDxError, atExact.dx, atExact.dxScale, fdDx,
                new double[r * d]);
        checkDerivative(c + " float64 backward dgamma", fdDg, fdDgError, atExact.dgamma, atExact.dgammaScale, fdDg,
                new double[d]);
        checkDerivative(c + " float64 backward dbeta", fdDb, fdDbError, atExact.dbeta, atExact.dbetaScale, fdDb,
                new double[d]);

        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run run = run(k, c, x, gamma, beta);
            Grads g = grads(k, c, w, x, gamma, run.mean, run.invStd);
            // The API's backward is defined from the saved float statistics: it differs from the derivative by
            // what rounding the mean and invStd to float changes, computed in float64 (atSaved - atExact). For data
            // of offset 1e4 and spread 1e-2 that is a large share of dx; for most data it is ~1e-7 of it.
            Backward atSaved = backward(r, d, wd, xd, gd, Bar.widen(run.mean), Bar.widen(run.invStd));
            checkDerivative(tag + " dx", fdDx, fdDxError, Bar.widen(g.dx), atExact.dxScale, atSaved.dx,
                    difference(atSaved.dx, atExact.dx));
            checkDerivative(tag + " dgamma", fdDg, fdDgError, Bar.widen(g.dgamma), atExact.dgammaScale,
                    atSaved.dgamma, difference(atSaved.dgamma, atExact.dgamma));
            checkDerivative(tag + " dbeta", fdDb, fdDbError, Bar.widen(g.dbeta), atExact.dbetaScale, atSaved.dbeta,
                    difference(atSaved.dbeta, atExact.dbeta));
        }
    }

    static double loss(int r, int d, double[] x, double[] w, double[] gamma, double[] beta, double eps) {
        Forward f = forward(r, d, x, gamma, beta, eps);
        double loss = 0;
        for (int i = 0; i < r * d; i++) {
            loss += w[i] * f.y[i];
        }
        return loss;
    }

    static double[] difference(double[] a, double[] b) {
        double[] diff = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            diff[i] = Math.abs(a[i] - b[i]);
        }
        return diff;
    }

    /**
     * |got - fd| within: the bar around {@code anchor} on the gradient's scale (anchor: the float64 gradient that
     * {@code got} is held to by property 2, or fd itself for the oracle); {@code known}, how far that gradient is
     * from the derivative (0 for the oracle at the exact statistics); and the difference's own error bound.
     */
    static void checkDerivative(String what, double[] fd, double[] fdError, double[] got, double[] scale,
            double[] anchor, double[] known) {
        for (int i = 0; i < fd.length; i++) {
            double allowed = Bar.allowed(anchor[i], scale[i], 0) + known[i] + fdError[i];
            if (!(Math.abs(got[i] - fd[i]) <= allowed)) {
                fail(what + "[" + i + "] = " + got[i] + ", finite difference " + fd[i] + " (error "
                        + Math.abs(got[i] - fd[i]) + ", allowed " + allowed + ", of which the saved statistics "
                        + known[i] + " and the difference's error bound " + fdError[i] + ")");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 4. Vector API kernels against the scalar reference.

    @Test
    void vectorKernelsAgreeWithTheScalarReference() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, true)))
                .checkAssert(LayerNormPropertiesTest::vectorMatchesScalar);
    }

    static void vectorMatchesScalar(RowCase c) {
        vectorMatchesScalar(c, SCALAR, VECTOR);
    }

    static void vectorMatchesScalar(RowCase c, Backend scalar, Backend vector) {
        int r = c.rows();
        int d = c.width();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        double[] xd = Bar.widen(x);
        Forward ref = forward(r, d, xd, Bar.widen(gamma), Bar.widen(beta), c.eps());
        double[] std = new double[r];
        for (int row = 0; row < r; row++) {
            std[row] = ref.std(row);
        }
        String tag = vector.name() + " vs " + scalar.name() + " " + c;
        Run s = run(scalar, c, x, gamma, beta);
        Run v = run(vector, c, x, gamma, beta);
        Bar.check(tag + " y", Bar.widen(s.y), v.y, ref.yScale, null);
        Bar.check(tag + " saved mean", Bar.widen(s.mean), v.mean, std, null);
        Bar.check(tag + " saved invStd", Bar.widen(s.invStd), v.invStd, null, null);
        // Both backward passes from one set of saved statistics, so that only the kernels differ.
        Grads gs = grads(scalar, c, dy, x, gamma, s.mean, s.invStd);
        Grads gv = grads(vector, c, dy, x, gamma, s.mean, s.invStd);
        Backward scales = backward(r, d, Bar.widen(dy), xd, Bar.widen(gamma), Bar.widen(s.mean),
                Bar.widen(s.invStd));
        Bar.check(tag + " dx", Bar.widen(gs.dx), gv.dx, scales.dxScale, float64Resolution(scales.dxScale));
        Bar.check(tag + " dgamma", Bar.widen(gs.dgamma), gv.dgamma, scales.dgammaScale, null);
        Bar.check(tag + " dbeta", Bar.widen(gs.dbeta), gv.dbeta, scales.dbetaScale, null);
    }
}
