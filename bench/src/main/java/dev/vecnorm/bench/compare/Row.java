package dev.vecnorm.bench.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One measured (shape, op, implementation): median milliseconds, and what follows from it.
 *
 * @param maxError largest |got - float64| / (1 + |float64|) over all outputs, or NaN when not checked
 * @param baselineMs the same implementation's time for plain BatchNorm in the same run (the fused suite's
 *     fused ops), or NaN
 */
record Row(String shape, Op op, String implementation, double ms, long elements, double floorMs,
        double scalarMs, double pytorchMs, double maxError, double baselineMs) {

    Row(String shape, Op op, String implementation, double ms, long elements, double floorMs, double scalarMs,
            double pytorchMs, double maxError) {
        this(shape, op, implementation, ms, elements, floorMs, scalarMs, pytorchMs, maxError, Double.NaN);
    }

    double gbPerSecond() {
        return (double) elements * op.bytesPerElement / (ms * 1e6);
    }

    double percentOfFloor() {
        return 100 * floorMs / ms;
    }

    /** A figure this far above its floor means the floor was measured slow (issue 12: "a floor that is a floor"). */
    static final double SUSPECT_FLOOR_PERCENT = 105;

    /**
     * The warnings for rows that beat their floor by more than {@link #SUSPECT_FLOOR_PERCENT}: such a floor was
     * timed slower than a real kernel moved the same bytes, so its "% of floor" column overstates every row.
     */
    static List<String> floorWarnings(List<Row> rows) {
        List<String> warnings = new ArrayList<>();
        for (Row r : rows) {
            if (r.percentOfFloor() > SUSPECT_FLOOR_PERCENT && !r.implementation().equals(Compare.FLOOR)) {
                warnings.add(String.format(Locale.ROOT, "Bad floor: %s %s %s ran at %.0f%% of the floor (over %.0f%%): "
                        + "the floor was measured slow there; read the same-run ratios, not %% of floor.", r.shape(),
                        r.op().label, r.implementation(), r.percentOfFloor(), SUSPECT_FLOOR_PERCENT));
            }
        }
        return warnings;
    }

    /** How much longer than plain BatchNorm, in percent (+5.0 = 5% slower), or NaN without a baseline. */
    double percentOverBaseline() {
        return 100 * (ms / baselineMs - 1);
    }

    Row withBaseline(double ms) {
        return new Row(shape, op, implementation, this.ms, elements, floorMs, scalarMs, pytorchMs, maxError, ms);
    }

    static String fmt(double v, String pattern) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, pattern, v);
    }
}
