package dev.vecnorm.internal.kernels;

/**
 * When the across-positions loops may read several rows side by side (one load of the per-position sums or
 * coefficients for several rows). Rows read side by side are several streams per tensor; when the rows are less
 * than a page apart, several share a 4 KiB page and its lines are touched out of order, which (by the
 * measurements, most likely through the hardware prefetchers, which track pages) costs more from memory than the
 * shared loads save. Used by the backward sums (BatchNorm across positions, LayerNorm and RMSNorm rows): rows a
 * page apart go four adjacent at a time; narrower rows of the BatchNorm sums two at a time, one from each half of
 * the block (GradientRuns). The statistics (ShiftedSums) and the normalize pass (AffineRuns) read their four rows
 * from the four quarters of the block instead, so that they never share a page, at every width. What the
 * measurements favour is about four read streams: the statistics read one tensor from four quarters (two halves
 * measured 10-20% slower), the backward sums two tensors from two halves (four quarters, eight streams, 25% slower
 * than halves on channels-last 32x56x56x256).
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
