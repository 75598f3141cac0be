package dev.vecnorm.bench.compare;

import java.util.Locale;

/**
 * One measured (shape, op, implementation): median milliseconds, and what follows from it.
 *
 * @param maxError largest |got - float64| / (1 + |float64|) over all outputs, or NaN when not checked
 */
record Row(String shape, Op op, String implementation, double ms, long elements, double floorMs,
        double scalarMs, double pytorchMs, double maxError) {

    double gbPerSecond() {
        return (double) elements * op.bytesPerElement / (ms * 1e6);
    }

    double percentOfFloor() {
        return 100 * floorMs / ms;
    }

    static String fmt(double v, String pattern) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, pattern, v);
    }
}
