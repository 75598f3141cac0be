package dev.vecnorm.internal.kernels;

/**
 * When the across-positions loops may read several rows side by side (one load of the per-position sums or
 * coefficients for four rows). Four rows read side by side are four streams per tensor; when the rows are less
 * than a page apart, several share a 4 KiB page and its lines are touched out of order, which (by the
 * measurements, most likely through the hardware prefetchers, which track pages) costs more than the shared
 * loads save. Measured 2026-12-04 with bench/scripts/SameJvmAB.java, one thread, both orders. Used by the
 * backward sums (BatchNorm across positions, LayerNorm and RMSNorm rows); the same four-row form of the
 * across-positions affine pass (coefficients loaded once per four rows, rows a page apart) measured within noise
 * on inference (32x7x7x2048, 32x14x14x1024 and 256x1024: -24% to +70% between runs), and of the dx pass across
 * positions gave no consistent gain (7x7 slower), so those passes read one row at a time.
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
