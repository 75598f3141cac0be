package dev.vecnorm.internal.kernels;

/**
 * When the across-positions loops may read several rows side by side (one load of the per-position sums or
 * coefficients for several rows). Rows read side by side are several streams per tensor; when the rows are less
 * than a page apart, several share a 4 KiB page and its lines are touched out of order, which (by the
 * measurements, most likely through the hardware prefetchers, which track pages) costs more from memory than the
 * shared loads save. Used by the backward sums (BatchNorm across positions, LayerNorm and RMSNorm rows). The
 * statistics (ShiftedSums) and the normalize pass (AffineRuns) read their four rows from the four quarters of
 * the block instead, so that they never share a page, at every width (the backward sums read that way measured
 * within the noise, -8% to +1% on channels-last BatchNorm and GroupNorm, and keep this rule).
 * The dx pass takes two adjacent rows only from wider rows still (GradientRuns.TWO_ROW_WIDTH), where its
 * coefficient rows no longer stay in L1 (four rows from the quarters measured 13-20% slower there).
 */
final class Pages {

    /** Floats in a 4 KiB page: rows at least this far apart are read four at a time. */
    static final int FLOATS = 4096 / Float.BYTES;

    private Pages() {
    }

    /** Whether rows {@code rowFloats} apart are far enough apart to be read four at a time. */
    static boolean fourRowsApart(int rowFloats) {
        return rowFloats >= FLOATS;
    }
}
