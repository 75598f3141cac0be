package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.fail;

import dev.vecnorm.testing.Tolerance;

/**
 * The accuracy bar of DESIGN.md, {@code |got - want| <= 1e-5 * (1 + |want|)}, made unable to pass vacuously: an
 * output whose natural scale is far below 1 (y of tiny inputs with eps, dx of inputs around 1e15, dgamma of
 * outputs that eps squashed to 1e-18) would meet {@code 1e-5 * (1 + |want|)} with any value of its own size. Each
 * check therefore takes the scale of the quantity (what its parts add up to in magnitude, from the float64
 * oracle) and allows {@code 1e-5 * min(1 + |want|, |want| + scale)}: the bar where the scale is 1 or more, the same
 * relative bar on the quantity's own scale below that. A scale of 0 is a purely relative check.
 */
final class Bar {

    static final double TOL = Tolerance.RELATIVE;
    /** A float32 unit roundoff, 2^-24. */
    static final double U = 0x1p-24;

    private Bar() {
    }

    /**
     * The error allowed for {@code want} of natural scale {@code scale}, plus {@code slack}, plus the spacing of
     * float subnormals (1.4e-45): a float output below 1.2e-38 cannot be held to a relative bar (a dgamma of 9e-42
     * is only representable to 1.5e-4 of itself).
     */
    static double allowed(double want, double scale, double slack) {
        double a = Math.abs(want);
        // A NaN scale (a degenerate group's 0 * inf) is taken as 0, the strictest reading.
        return TOL * Math.min(1 + a, a + (Double.isNaN(scale) ? 0 : scale)) + slack + Float.MIN_VALUE;
    }

    /** NaN must stay NaN and an infinity be that infinity; an exact match passes; else within {@link #allowed}. */
    static boolean ok(double want, double got, double scale, double slack) {
        if (Double.isNaN(want)) {
            return Double.isNaN(got);
        }
        if (Double.isInfinite(want) || want == got) {
            return want == got;
        }
        return Math.abs(got - want) <= allowed(want, scale, slack);
    }

    /** Every element within the bar on its scale; {@code scale} or {@code slack} null means 0. */
    static void check(String what, double[] want, float[] got, double[] scale, double[] slack) {
        if (want.length != got.length) {
            fail(what + ": length " + got.length + ", expected " + want.length);
        }
        for (int i = 0; i < want.length; i++) {
            double s = scale == null ? 0 : scale[i];
            double e = slack == null ? 0 : slack[i];
            if (!ok(want[i], got[i], s, e)) {
                fail(what + "[" + i + "] = " + got[i] + ", expected " + want[i] + " (error "
                        + Math.abs(got[i] - want[i]) + ", allowed " + allowed(want[i], s, e) + ", scale " + s + ")");
            }
        }
    }

    static double[] widen(float[] a) {
        return a == null ? null : Tolerance.widen(a);
    }

    /** A constant array: one scale for every element. */
    static double[] fill(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
