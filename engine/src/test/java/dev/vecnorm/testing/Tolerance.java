package dev.vecnorm.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** The accuracy bar of DESIGN.md: every output within {@code 1e-5 * (1 + |expected|)} of the float64 value. */
public final class Tolerance {

    public static final double RELATIVE = 1e-5;

    private Tolerance() {
    }

    public static boolean close(double expected, double actual, double tolerance) {
        if (Double.isNaN(expected)) {
            return Double.isNaN(actual);
        }
        if (Double.isInfinite(expected)) {
            return expected == actual;
        }
        return Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected));
    }

    public static void assertClose(String what, double[] expected, float[] actual) {
        assertClose(what, expected, actual, RELATIVE);
    }

    /**
     * |actual - expected| <= RELATIVE * (|expected| + scale[i]): relative to the value and to a scale of its
     * own (a channel's std for its mean, 0 for a purely relative check), with no absolute floor, so statistics
     * of data around 1e-20 are held to the same bar as data around 1.
     */
    public static void assertCloseScaled(String what, double[] expected, float[] actual, double[] scale) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double allowed = RELATIVE * (Math.abs(e) + scale[i]);
            boolean ok = Double.isNaN(e) ? Float.isNaN(actual[i])
                    : Double.isInfinite(e) ? e == actual[i] : Math.abs(actual[i] - e) <= allowed;
            if (!ok) {
                fail(what + "[" + i + "] = " + actual[i] + ", expected " + e + " (error " + Math.abs(actual[i] - e)
                        + ", allowed " + allowed + ")");
            }
        }
    }

    public static void assertClose(String what, double[] expected, float[] actual, double tolerance) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (!close(expected[i], actual[i], tolerance)) {
                fail(what + "[" + i + "] = " + actual[i] + ", expected " + expected[i] + " (error "
                        + Math.abs(actual[i] - expected[i]) + ", allowed " + tolerance * (1 + Math.abs(expected[i]))
                        + ")");
            }
        }
    }

    public static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
