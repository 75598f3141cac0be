package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.L;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The normalize of runs shorter than {@link AffineRuns#FOUR_RUN_FLOATS} walks the block's channels of four samples
 * as rows of vectors, blending two channels' coefficients in the vector where one run ends. Every element must
 * get exactly its own channel's map, {@code fma(x - centerHi, scale, foldedShift)}, bit for bit, and nothing
 * outside the block may be written (the plain map and the fused ReLU): runs of one vector, one float more, 49 floats, two vectors less one, and
 * a multiple of the vector; 4 samples (one group) and 9 (two groups and one sample left over); all channels and
 * a range starting past channel 0.
 */
class SampleRowsTest {

    private static final int C = 7;
    /** One vector, one float more, 49 floats, two vectors less one, three vectors, five vectors and three. */
    private static final int[] RUNS = {L, L + 1, Math.max(49, L), 2 * L - 1, 3 * L, 5 * L + 3};
    private static final int[][] RANGES = {{0, C}, {2, 5}, {6, 7}};

    @Test
    void everyElementGetsItsOwnChannelsMapBitForBit() {
        for (int s : RUNS) {
            for (int n : new int[] {4, 9}) {
                for (int[] range : RANGES) {
                    check(n, s, range[0], range[1], false);
                    check(n, s, range[0], range[1], true);
                }
            }
        }
    }

    /**
     * The backward's dx of runs shorter than {@link GradientRuns#SAMPLE_ROWS_BELOW} walks two samples' rows (from
     * the halves of the batch) the same way: every element bit for bit {@code fma(dy, dyScale, fma(x,
     * -centeredScale, constant))} with its own channel's coefficients, nothing outside the block written; 2 samples
     * (one pair) and 9 (four pairs and one left). At 128 bits dx goes one run at a time
     * ({@link GradientRuns#SAMPLE_ROWS_MIN_DOUBLE_LANES}), where the same check holds.
     */
    @Test
    void everyInputGradientGetsItsOwnChannelsCoefficientsBitForBit() {
        for (int s : RUNS) {
            for (int n : new int[] {2, 9}) {
                for (int[] range : RANGES) {
                    checkInput(n, s, range[0], range[1]);
                }
            }
        }
    }

    private static void checkInput(int n, int s, int c0, int c1) {
        Random random = new Random(17L * s + n + 5L * c0);
        int size = n * C * s;
        float[] x = new float[size];
        float[] dy = new float[size];
        for (int i = 0; i < size; i++) {
            x[i] = 1000f + (float) random.nextGaussian() * 3f;
            dy[i] = (float) random.nextGaussian();
        }
        float[] center = new float[C];
        double[] dyScale = new double[C];
        double[] centeredScale = new double[C];
        double[] shift = new double[C];
        for (int ch = 0; ch < C; ch++) {
            center[ch] = 1000f + ch;
            dyScale[ch] = 0.5 + ch + random.nextDouble() * 1e-3;
            centeredScale[ch] = 0.25 * (ch + 1) + random.nextDouble() * 1e-3;
            shift[ch] = -3.0 * ch + random.nextDouble();
        }
        float[] dx = new float[size];
        Arrays.fill(dx, Float.NaN);
        GradientRuns.input(dy, 0, x, 0, dx, 0, n, C, s, c0, c1, center, dyScale, centeredScale, shift);
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < C; ch++) {
                double constant = GradientRuns.constant(center[ch], centeredScale[ch], shift[ch]);
                for (int j = 0; j < s; j++) {
                    int at = (i * C + ch) * s + j;
                    float want = ch >= c0 && ch < c1
                            ? (float) Math.fma(dy[at], dyScale[ch], Math.fma(x[at], -centeredScale[ch], constant))
                            : Float.NaN;
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(dx[at]),
                            () -> "dx n " + n + " s " + s + " channels [" + c0 + ", " + c1 + ") at " + at + ": "
                                    + dx[at] + " vs " + want);
                }
            }
        }
    }

    private static void check(int n, int s, int c0, int c1, boolean relu) {
        Random random = new Random(31L * s + n + 7L * c0);
        int size = n * C * s;
        float[] x = new float[size];
        for (int i = 0; i < size; i++) {
            x[i] = 1000f + (float) random.nextGaussian() * 3f;
        }
        float[] centerHi = new float[C];
        float[] centerLo = new float[C];
        float[] scale = new float[C];
        float[] shift = new float[C];
        for (int ch = 0; ch < C; ch++) {
            // Channels far apart, so that a lane given its neighbour's coefficients is far off.
            centerHi[ch] = 1000f + ch;
            centerLo[ch] = (float) random.nextGaussian() * 1e-5f;
            scale[ch] = 0.5f + ch;
            shift[ch] = -3f * ch;
        }
        float[] y = new float[size];
        Arrays.fill(y, Float.NaN);
        if (relu) {
            AffineRuns.affineFused(x, 0, null, 0, y, 0, n, C, s, c0, c1, centerHi, centerLo, scale, shift, true);
        } else {
            AffineRuns.affine(x, 0, y, 0, n, C, s, c0, c1, centerHi, centerLo, scale, shift);
        }
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < C; ch++) {
                float b = AffineRuns.foldedShift(shift[ch], centerLo[ch], scale[ch]);
                for (int j = 0; j < s; j++) {
                    int at = (i * C + ch) * s + j;
                    float map = Math.fma(x[at] - centerHi[ch], scale[ch], b);
                    float want = ch >= c0 && ch < c1 ? (relu ? Math.max(map, 0f) : map) : Float.NaN;
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(y[at]),
                            () -> (relu ? "relu " : "") + "n " + n + " s " + s + " channels [" + c0 + ", " + c1
                                    + ") at " + at + ": " + y[at] + " vs " + want);
                }
            }
        }
    }
}
