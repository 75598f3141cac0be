package dev.vecnorm.internal.kernels;

/**
 * Per-thread double buffers of the across-positions loops (short runs, channels-last, rank 2), named by what they
 * hold and grown on demand, so that a pass over hundreds of tiles allocates nothing per tile: per-position copies
 * of per-channel coefficients (lanes hold positions, each needs its channel's value), and lane sums.
 */
final class PositionScratch {

    /** What a buffer holds; each has its own array per thread. */
    enum Buffer { DX_COEFFICIENTS, LANE_SUMS }

    private static final ThreadLocal<double[][]> OWN =
            ThreadLocal.withInitial(() -> new double[Buffer.values().length][0]);

    private PositionScratch() {
    }

    /** The calling thread's buffer {@code b}, at least {@code length} long; contents are not preserved. */
    static double[] doubles(Buffer b, int length) {
        double[][] own = OWN.get();
        int i = b.ordinal();
        if (own[i].length < length) {
            own[i] = new double[Math.max(length, 2 * own[i].length)];
        }
        return own[i];
    }

    /**
     * dx's three per-position coefficient rows for channels [c0, c1) of runs of s, {@link #dxStride} apart in
     * buffer DX_COEFFICIENTS, for {@code dx = dy * dyScale + (x * xFactor + constant)}: dyScale, then xFactor =
     * {@code -centeredScale}, then the constant ({@link GradientRuns#constant}) of each position's channel.
     */
    static double[] dxCoefficients(float[] center, double[] dyScale, double[] centeredScale, double[] shift, int c0,
            int c1, int s) {
        int width = (c1 - c0) * s;
        int stride = dxStride(width);
        double[] out = doubles(Buffer.DX_COEFFICIENTS, 2 * stride + width);
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            java.util.Arrays.fill(out, k, k + s, dyScale[ch]);
            java.util.Arrays.fill(out, stride + k, stride + k + s, -centeredScale[ch]);
            java.util.Arrays.fill(out, 2 * stride + k, 2 * stride + k + s,
                    GradientRuns.constant(center[ch], centeredScale[ch], shift[ch]));
            k += s;
        }
        return out;
    }

    /** The distance between the rows of {@link #dxCoefficients} for {@code width} positions (StaggeredRows). */
    static int dxStride(int width) {
        return StaggeredRows.stride(width, Double.BYTES);
    }
}
