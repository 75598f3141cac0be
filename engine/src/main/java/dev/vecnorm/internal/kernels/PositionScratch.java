package dev.vecnorm.internal.kernels;

/**
 * Per-thread double buffers of the across-positions loops (short runs, channels-last, rank 2), named by what they
 * hold and grown on demand, so that a pass over hundreds of tiles allocates nothing per tile: per-position copies
 * of per-channel coefficients (lanes hold positions, each needs its channel's value), and lane sums.
 */
final class PositionScratch {

    /** What a buffer holds; each has its own array per thread. */
    enum Buffer { DY_SCALE, X_FACTOR, CONSTANT, LANE_SUMS }

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

    /** Channels [c0, c1) of {@code perChannel}, each repeated for its s positions, in buffer {@code into}. */
    static double[] perPosition(double[] perChannel, int c0, int c1, int s, Buffer into) {
        double[] out = doubles(into, (c1 - c0) * s);
        if (s == 1) {
            System.arraycopy(perChannel, c0, out, 0, c1 - c0);
            return out;
        }
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            double v = perChannel[ch];
            for (int j = 0; j < s; j++) {
                out[k++] = v;
            }
        }
        return out;
    }

    /**
     * dx's per-position factor on x, {@code -centeredScale} of the position's channel, for
     * {@code dx = dy * dyScale + (x * xFactor + constant)} (see {@link GradientRuns#constant}); buffer X_FACTOR.
     */
    static double[] xFactorPerPosition(double[] centeredScale, int c0, int c1, int s) {
        double[] out = doubles(Buffer.X_FACTOR, (c1 - c0) * s);
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            java.util.Arrays.fill(out, k, k + s, -centeredScale[ch]);
            k += s;
        }
        return out;
    }

    /** dx's per-position constant (the other term of {@link #xFactorPerPosition}'s formula); buffer CONSTANT. */
    static double[] constantPerPosition(float[] center, double[] centeredScale, double[] shift, int c0, int c1,
            int s) {
        double[] out = doubles(Buffer.CONSTANT, (c1 - c0) * s);
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            java.util.Arrays.fill(out, k, k + s, GradientRuns.constant(center[ch], centeredScale[ch], shift[ch]));
            k += s;
        }
        return out;
    }
}
