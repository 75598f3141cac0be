package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.vecnorm.Backend;
import dev.vecnorm.RMSNormOps;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

/**
 * Properties of RMSNorm ({@link RMSNormOps}, {@code y = x / sqrt(mean(x^2) + eps) * gamma}) on generated cases
 * ({@link RowCase}, weight only): every distribution of the engine tests, rank 1 to 4 with the axis given either
 * way, normalized widths on both sides of every vector tail, random weight (or none), random eps, tensors at an
 * offset; scalar and Vector API kernels. QT_EXAMPLES (Maven: 60, or 1000 with -Pdeep) examples per property.
 */
class RMSNormPropertiesTest {

    static final Backend SCALAR = LayerNormPropertiesTest.SCALAR;
    static final Backend VECTOR = LayerNormPropertiesTest.VECTOR;
    private static final List<Backend> IMPLEMENTATIONS = List.of(SCALAR, VECTOR);
    private static final Tally TALLY = new Tally();

    @AfterAll
    static void coverage() {
        List<String> expected = new java.util.ArrayList<>(RowCase.expectedClasses(false));
        expected.add("unit: a row with mean(x^2) > 1000 eps");
        TALLY.report("RMSNormPropertiesTest", expected);
    }

    private static Gen<RowCase> recorded(Gen<RowCase> gen) {
        return gen.map(c -> {
            TALLY.hit(c.classes().toArray(String[]::new));
            return c;
        }).describedAs(RowCase::toString);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The float64 oracle, on inputs widened to double before any arithmetic.

    /** Per row: mean(x^2), 1/sqrt(mean(x^2) + eps); y; and the natural scale of each y. */
    record Forward(double[] y, double[] meanSquare, double[] invRms, double[] yScale) {
    }

    static Forward forward(int r, int d, double[] x, double[] gamma, double eps) {
        double[] y = new double[r * d];
        double[] yScale = new double[r * d];
        double[] ms = new double[r];
        double[] inv = new double[r];
        for (int row = 0; row < r; row++) {
            int at = row * d;
            double sq = 0;
            for (int j = 0; j < d; j++) {
                sq += x[at + j] * x[at + j];
            }
            double m = sq / d;
            double ri = 1 / Math.sqrt(m + eps);
            double rms = Math.sqrt(m) * ri;
            for (int j = 0; j < d; j++) {
                double g = gamma == null ? 1 : gamma[j];
                double xhat = x[at + j] * ri;
                y[at + j] = xhat * g;
                yScale[at + j] = Math.abs(g) * Math.max(Math.abs(xhat), rms);
            }
            ms[row] = m;
            inv[row] = ri;
        }
        return new Forward(y, ms, inv, yScale);
    }

    /**
     * Backward from a given inverse RMS r (the saved one, as the API defines it): with g = dy * gamma,
     * dx = r g - x r^3 sum(g x) / D; dgamma = sum over rows of dy x r. Scales: the magnitudes of dx's two terms,
     * the sum of the magnitudes dgamma adds.
     */
    record Backward(double[] dx, double[] dgamma, double[] dxScale, double[] dgammaScale) {
    }

    static Backward backward(int r, int d, double[] dy, double[] x, double[] gamma, double[] invRms) {
        double[] dx = new double[r * d];
        double[] dxScale = new double[r * d];
        double[] dgamma = new double[d];
        double[] dgScale = new double[d];
        for (int row = 0; row < r; row++) {
            int at = row * d;
            double ri = invRms[row];
            double b = 0;
            double bAbs = 0;
            for (int j = 0; j < d; j++) {
                double g = dy[at + j] * (gamma == null ? 1 : gamma[j]);
                b += g * x[at + j];
                bAbs += Math.abs(g * x[at + j]);
                dgamma[j] += dy[at + j] * x[at + j] * ri;
                dgScale[j] += Math.abs(dy[at + j] * x[at + j] * ri);
            }
            for (int j = 0; j < d; j++) {
                double g = dy[at + j] * (gamma == null ? 1 : gamma[j]);
                dx[at + j] = ri * g - x[at + j] * ri * ri * ri * b / d;
                dxScale[at + j] = ri * Math.abs(g) + Math.abs(x[at + j]) * ri * ri * ri * bAbs / d;
            }
        }
        return new Backward(dx, dgamma, dxScale, dgScale);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The engine, on tensors placed at the case's offset in larger arrays.

    record Run(float[] y, float[] invRms) {
    }

    static Run run(Backend k, RowCase c, float[] x, float[] gamma) {
        int n = c.size();
        int off = c.offset();
        float[] xa = Tensors.placed(x, off);
        // In place: y written over x, as the API allows.
        float[] ya = c.inPlace() ? xa : Tensors.output(n, off);
        float[] inv = Tensors.filled(c.rows(), Tensors.UNWRITTEN);
        RMSNormOps.using(k).forward(c.shape(), c.axis(), xa, off, ya, off, gamma, c.eps(), inv);
        if (!c.inPlace()) {
            Tensors.unchanged(k.name() + " x", xa, off, x);
        }
        return new Run(Tensors.taken(k.name() + " y", ya, off, n), inv);
    }

    record Grads(float[] dx, float[] dgamma) {
    }

    static Grads grads(Backend k, RowCase c, float[] dy, float[] x, float[] gamma, float[] invRms) {
        int n = c.size();
        int off = c.offset();
        float[] dya = Tensors.placed(dy, off);
        float[] xa = Tensors.placed(x, off);
        float[] dxa = Tensors.output(n, off);
        float[] dgamma = Tensors.filled(c.width(), Tensors.UNWRITTEN);
        RMSNormOps.using(k).backward(c.shape(), c.axis(), dya, off, xa, off, gamma, invRms, dxa, off, dgamma);
        Tensors.unchanged(k.name() + " dy", dya, off, dy);
        Tensors.unchanged(k.name() + " x", xa, off, x);
        return new Grads(Tensors.taken(k.name() + " dx", dxa, off, n), dgamma);
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. Normalized rows.

    @Test
    void unitWeightGivesRowsOfRootMeanSquareOne() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, false)))
                .checkAssert(RMSNormPropertiesTest::unitRows);
    }

    static void unitRows(RowCase c) {
        unitRows(c, IMPLEMENTATIONS);
    }

    static void unitRows(RowCase c, List<Backend> implementations) {
        int r = c.rows();
        int d = c.width();
        float[] x = c.x();
        // Unit weight given (ones: the element-wise pass runs) or left out (null).
        float[] ones = (c.affine() & RowCase.WEIGHT) != 0 ? Tensors.filled(d, 1f) : null;
        Forward ref = forward(r, d, Bar.widen(x), null, c.eps());
        for (Backend k : implementations) {
            float[] y = run(k, c, x, ones).y;
            for (int row = 0; row < r; row++) {
                String where = k.name() + " " + c + " row " + row;
                double ms = ref.meanSquare[row];
                if (ms + c.eps() == 0) {
                    // A row of zeros and eps = 0: 0/0, NaN.
                    for (int j = 0; j < d; j++) {
                        assertTrue(Float.isNaN(y[row * d + j]), where + ": 0/0 gave " + y[row * d + j]);
                    }
                    continue;
                }
                double sq = 0;
                for (int j = 0; j < d; j++) {
                    sq += (double) y[row * d + j] * y[row * d + j];
                }
                double rms = Math.sqrt(sq / d);
                // In real arithmetic rms(y) = sqrt(ms / (ms + eps)) = sqrt(1 - eps / (ms + eps)): eps is accounted for
                // exactly (1 - rms(y) is below 5e-4 once ms > 1000 eps), not as slack. What is left is float32
                // rounding: the inverse RMS rounded to float once per row (2^-24, shared by the row) and each y once
                // (x * scale), so rms(y) is off by at most 2 u of itself (the double mean(x^2) adds ~D 2^-53). 8 u
                // leaves a margin of 4.
                double expected = Math.sqrt(ms / (ms + c.eps()));
                double tol = 8 * Bar.U * expected;
                assertTrue(Math.abs(rms - expected) <= tol, where + ": rms " + rms + ", expected " + expected
                        + " (allowed " + tol + ")");
                if (ms > 1000 * c.eps()) {
                    TALLY.hit("unit: a row with mean(x^2) > 1000 eps");
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. Agreement with float64.

    @Test
    void forwardStatisticsAndBackwardAgreeWithFloat64() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, false)))
                .checkAssert(RMSNormPropertiesTest::agreesWithFloat64);
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
        double[] xd = Bar.widen(x);
        double[] gd = Bar.widen(gamma);
        Forward ref = forward(r, d, xd, gd, c.eps());
        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run got = run(k, c, x, gamma);
            Bar.check(tag + " y", ref.y, got.y, ref.yScale, null);
            Bar.check(tag + " saved invRms", ref.invRms, got.invRms, null, null);
            Backward want = backward(r, d, Bar.widen(dy), xd, gd, Bar.widen(got.invRms));
            Grads g = grads(k, c, dy, x, gamma, got.invRms);
            Bar.check(tag + " dx", want.dx, g.dx, want.dxScale, LayerNormPropertiesTest.float64Resolution(
                    want.dxScale));
            Bar.check(tag + " dgamma", want.dgamma, g.dgamma, want.dgammaScale, null);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. Backward against finite differences of the float64 forward.

    @Test
    void backwardMatchesFiniteDifferencesOfTheFloat64Forward() {
        Gen<RowCase> small = RowCase.cases(LayerNormPropertiesTest.FD_MAX_ELEMENTS, false)
                .assuming(RMSNormPropertiesTest::nonDegenerate);
        qt().withGenerateAttempts(10_000).forAll(recorded(small)).checkAssert(RMSNormPropertiesTest::finiteDifferences);
    }

    /** Every row has mean(x^2) + eps > 0. */
    static boolean nonDegenerate(RowCase c) {
        Forward f = forward(c.rows(), c.width(), Bar.widen(c.x()), null, c.eps());
        return Arrays.stream(f.invRms).allMatch(Double::isFinite);
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
        double[] xd = Bar.widen(x);
        double[] wd = Bar.widen(w);
        double[] gd = gamma == null ? Bar.fill(d, 1) : Bar.widen(gamma);
        Forward exact = forward(r, d, xd, gd, c.eps());
        Backward atExact = backward(r, d, wd, xd, gd, exact.invRms);
        if (c.eps() == 0) {
            TALLY.hit("finite differences: eps = 0");
        }
        // d sum(w * y) / dx one row at a time, with a step of 1e-3 of the row's sqrt(mean(x^2) + eps), the scale on
        // which y curves (no shift: RMSNorm is not shift-invariant). A row's loss is computed in double to within
        // D 2^-52 sum|w gamma| max|x r|: the sum's rounding and that of mean(x^2), which scales every y.
        double[] fdDx = new double[r * d];
        double[] fdDxError = new double[r * d];
        double allLossError = 0;
        for (int row = 0; row < r; row++) {
            double[] xRow = Arrays.copyOfRange(xd, row * d, (row + 1) * d);
            double[] wRow = Arrays.copyOfRange(wd, row * d, (row + 1) * d);
            double maxXhat = 0;
            double wg = 0;
            for (int j = 0; j < d; j++) {
                maxXhat = Math.max(maxXhat, Math.abs(xRow[j]) * exact.invRms[row]);
                wg += Math.abs(wRow[j] * gd[j]);
            }
            double lossError = d * 0x1p-52 * wg * maxXhat;
            allLossError += r * lossError;
            double h = 1e-3 / exact.invRms[row];
            for (int j = 0; j < d; j++) {
                int at = j;
                FiniteDifference fd = FiniteDifference.of(t -> {
                    double[] moved = xRow.clone();
                    moved[at] += t;
                    return loss(1, d, moved, wRow, gd, c.eps());
                }, h, 2 * lossError);
                fdDx[row * d + j] = fd.value();
                fdDxError[row * d + j] = fd.error();
            }
        }
        // Linear in gamma: exact but for the rounding of all rows' losses.
        double[] fdDg = new double[d];
        double[] fdDgError = new double[d];
        for (int j = 0; j < d; j++) {
            int at = j;
            FiniteDifference fg = FiniteDifference.of(t -> {
                double[] moved = gd.clone();
                moved[at] += t;
                return loss(r, d, xd, wd, moved, c.eps());
            }, 1e-3, 2 * allLossError);
            fdDg[j] = fg.value();
            fdDgError[j] = fg.error();
        }

        LayerNormPropertiesTest.checkDerivative(c + " float64 backward dx", fdDx, fdDxError, atExact.dx,
                atExact.dxScale, fdDx, new double[r * d]);
        LayerNormPropertiesTest.checkDerivative(c + " float64 backward dgamma", fdDg, fdDgError, atExact.dgamma,
                atExact.dgammaScale, fdDg, new double[d]);
        for (Backend k : implementations) {
            String tag = k.name() + " " + c;
            Run run = run(k, c, x, gamma);
            Grads g = grads(k, c, w, x, gamma, run.invRms);
            // The API's backward is defined from the saved float inverse RMS: it differs from the derivative by
            // what rounding it to float changes (atSaved - atExact, in float64; ~1e-7 of dx's terms).
            Backward atSaved = backward(r, d, wd, xd, gd, Bar.widen(run.invRms));
            LayerNormPropertiesTest.checkDerivative(tag + " dx", fdDx, fdDxError, Bar.widen(g.dx), atExact.dxScale,
                    atSaved.dx, LayerNormPropertiesTest.difference(atSaved.dx, atExact.dx));
            LayerNormPropertiesTest.checkDerivative(tag + " dgamma", fdDg, fdDgError, Bar.widen(g.dgamma),
                    atExact.dgammaScale, atSaved.dgamma, LayerNormPropertiesTest.difference(atSaved.dgamma,
                            atExact.dgamma));
        }
    }

    static double loss(int r, int d, double[] x, double[] w, double[] gamma, double eps) {
        Forward f = forward(r, d, x, gamma, eps);
        double loss = 0;
        for (int i = 0; i < r * d; i++) {
            loss += w[i] * f.y[i];
        }
        return loss;
    }

    // ---------------------------------------------------------------------------------------------------------
    // 4. Vector API kernels against the scalar reference.

    @Test
    void vectorKernelsAgreeWithTheScalarReference() {
        qt().forAll(recorded(RowCase.cases(Generators.MAX_ELEMENTS, false)))
                .checkAssert(RMSNormPropertiesTest::vectorMatchesScalar);
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
        double[] xd = Bar.widen(x);
        Forward ref = forward(r, d, xd, Bar.widen(gamma), c.eps());
        String tag = vector.name() + " vs " + scalar.name() + " " + c;
        Run s = run(scalar, c, x, gamma);
        Run v = run(vector, c, x, gamma);
        Bar.check(tag + " y", Bar.widen(s.y), v.y, ref.yScale, null);
        Bar.check(tag + " saved invRms", Bar.widen(s.invRms), v.invRms, null, null);
        // Both backward passes from one saved inverse RMS, so that only the kernels differ.
        Grads gs = grads(scalar, c, dy, x, gamma, s.invRms);
        Grads gv = grads(vector, c, dy, x, gamma, s.invRms);
        Backward scales = backward(r, d, Bar.widen(dy), xd, Bar.widen(gamma), Bar.widen(s.invRms));
        Bar.check(tag + " dx", Bar.widen(gs.dx), gv.dx, scales.dxScale, LayerNormPropertiesTest.float64Resolution(
                scales.dxScale));
        Bar.check(tag + " dgamma", Bar.widen(gs.dgamma), gv.dgamma, scales.dgammaScale, null);
    }
}
