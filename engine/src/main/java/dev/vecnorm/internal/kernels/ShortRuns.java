package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.L;

/**
 * Which loop form the reductions (statistics and the backward sums) take for a run length: along runs, where a
 * channel's run is walked with its own vector lanes, or across positions, where the rows stream and every position
 * (channel, spatial) keeps its own sums in arrays. Runs shorter than a vector have no choice; runs of a few vectors
 * are cheaper across positions when there are rows enough, since along runs each run also loads and stores its
 * channel's lane state and ends in a scalar tail (a run of 49, ResNet's 7x7, is three vectors and one element).
 *
 * <p>Measured on Zen 5, 1 thread, 2026-12-04. Statistics alone (scratch harness calling both forms on the same
 * data, best of 30 rounds): 32x2048x7x7 0.68-0.79 -> 0.56-0.60 ms, 256x16x8x8 equal at best and steadier across,
 * 32x1024x14x14 (runs of 196) equal with the tiles' channel blocks, 32x512x28x28 slower across (2.8 vs 3.7 ms),
 * hence the bound of 128 floats. End to end ({@code bench/scripts/SameJvmAB.java}, both orders): training
 * 32x2048x7x7 -13 to -20%, 256x16x8x8 -18 to -31%; backward 32x2048x7x7 -19 to -26%, 256x16x8x8 within noise.
 */
final class ShortRuns {

    /** Runs shorter than this many floats take the across-positions form when there are rows enough. */
    static final int SHORT_RUN = 128;

    /** With fewer rows than this, each channel's s position sums would be added up for few rows: along runs. */
    static final int MIN_ROWS_ACROSS = 8;

    /**
     * Positions per across-positions block: their coefficients and sums (3 doubles each, 48 KB) stay in L1/L2
     * while the rows stream. Every position's sums are its own, so the block size changes no bit.
     */
    static final int BLOCK_POSITIONS = 2048;

    /**
     * Rows of exactly this many positions (four float vectors: 64 channels channels-last at 512 bits) keep their
     * reductions' sums in registers while the rows stream ({@link ShiftedSums}' and {@link GradientRuns}'
     * registerRows); every other width goes through sum rows in memory.
     */
    static final int REGISTER_ROW_POSITIONS = 4 * L;

    private ShortRuns() {
    }

    /** True if a reduction over n runs of s floats per channel walks along the runs. */
    static boolean alongRuns(int n, int s) {
        return s >= L && (s >= SHORT_RUN || n < MIN_ROWS_ACROSS);
    }

    /** Channels per across-positions block of runs of s floats. */
    static int channelsPerBlock(int s) {
        return Math.max(1, BLOCK_POSITIONS / s);
    }
}
