package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Rows of exactly four vectors of positions (channels-last with 4 * lanes channels) keep their statistics' and
 * backward sums in registers ({@code ShiftedSums.registerRows}, {@code GradientRuns.registerRows}, the latter in
 * chunks of rows); every other width goes through the sum rows in memory. A channel's sums depend on its own
 * values only, so the same channels with one more beside them (the row path) must give the same bits, for row
 * counts with and without a remainder of four or of a chunk; and the scalar reference's within the bar. Runs at
 * every vector width, so 16, 32 and 64 channels each take the register path.
 */
class RegisterRowsTest {

    @Test
    void registerRowsGiveTheBitsOfTheRowPath() {
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        BatchNormKernels scalar = Kernels.scalar();
        Random random = new Random(5);
        int c = ShortRuns.REGISTER_ROW_POSITIONS;
        for (int n : new int[] {1, 7, 8, 33, 203}) {
            float[] x = new float[n * c];
            float[] wider = new float[n * (c + 1)];
            for (int i = 0; i < n; i++) {
                for (int ch = 0; ch <= c; ch++) {
                    // Offset data (a shift that is not the first value of each channel would show) with
                    // deviations over ten orders of magnitude, so that double sums round and rows added
                    // in another order would show too.
                    float v = 1000f + ch + (float) (random.nextGaussian() * Math.pow(10, random.nextInt(10) - 4));
                    wider[i * (c + 1) + ch] = v;
                    if (ch < c) {
                        x[i * c + ch] = v;
                    }
                }
            }
            double[] mean = new double[c];
            double[] variance = new double[c];
            double[] rowMean = new double[c + 1];
            double[] rowVariance = new double[c + 1];
            double[] refMean = new double[c];
            double[] refVariance = new double[c];
            vector.moments(x, 0, n, c, 1, 0, c, mean, variance);
            vector.moments(wider, 0, n, c + 1, 1, 0, c + 1, rowMean, rowVariance);
            scalar.moments(x, 0, n, c, 1, 0, c, refMean, refVariance);
            for (int ch = 0; ch < c; ch++) {
                String where = "N " + n + ", channel " + ch;
                assertEquals(rowMean[ch], mean[ch], 0.0, where + ": mean");
                assertEquals(rowVariance[ch], variance[ch], 0.0, where + ": variance");
                assertEquals(refMean[ch], mean[ch], 1e-9 * Math.abs(refMean[ch]), where + ": mean vs reference");
                assertEquals(refVariance[ch], variance[ch], 1e-6 * refVariance[ch] + 1e-30,
                        where + ": variance vs reference");
            }
        }
    }

    @Test
    void registerBackwardSumsGiveTheBitsOfTheRowPath() {
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        BatchNormKernels scalar = Kernels.scalar();
        int c = ShortRuns.REGISTER_ROW_POSITIONS;
        Random random = new Random(6);
        for (int n : new int[] {1, 31, 32, 33, 203}) {
            float[] dy = new float[n * c];
            float[] x = new float[n * c];
            float[] widerDy = new float[n * (c + 1)];
            float[] widerX = new float[n * (c + 1)];
            float[] center = new float[c + 1];
            for (int ch = 0; ch <= c; ch++) {
                center[ch] = 50f + ch;
            }
            for (int i = 0; i < n; i++) {
                for (int ch = 0; ch <= c; ch++) {
                    float g = (float) random.nextGaussian();
                    float v = 50f + ch + (float) random.nextGaussian();
                    widerDy[i * (c + 1) + ch] = g;
                    widerX[i * (c + 1) + ch] = v;
                    if (ch < c) {
                        dy[i * c + ch] = g;
                        x[i * c + ch] = v;
                    }
                }
            }
            double[] sumDy = new double[c];
            double[] sumDyCentered = new double[c];
            double[] rowSumDy = new double[c + 1];
            double[] rowSumDyCentered = new double[c + 1];
            double[] refSumDy = new double[c];
            double[] refSumDyCentered = new double[c];
            vector.gradientSums(dy, 0, x, 0, n, c, 1, 0, c, center, sumDy, sumDyCentered);
            vector.gradientSums(widerDy, 0, widerX, 0, n, c + 1, 1, 0, c + 1, center, rowSumDy, rowSumDyCentered);
            scalar.gradientSums(dy, 0, x, 0, n, c, 1, 0, c, center, refSumDy, refSumDyCentered);
            for (int ch = 0; ch < c; ch++) {
                String where = "N " + n + ", channel " + ch;
                assertEquals(rowSumDy[ch], sumDy[ch], 0.0, where + ": sum(dy)");
                assertEquals(rowSumDyCentered[ch], sumDyCentered[ch], 0.0, where + ": sum(dy * (x - center))");
                assertEquals(refSumDy[ch], sumDy[ch], 1e-12 * n, where + ": sum(dy) vs reference");
                assertEquals(refSumDyCentered[ch], sumDyCentered[ch], 1e-12 * n,
                        where + ": sum(dy * (x - center)) vs reference");
            }
        }
    }

    @Test
    void aChannelRangePastZeroTakesTheRegisterPathWithTheSameBits() {
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        int w = ShortRuns.REGISTER_ROW_POSITIONS;
        int c0 = 3;
        int n = 45;
        // Channels [3, 3 + w) of a tensor of w + 4 channels: w positions, the register path; [3, w + 4): w + 1
        // positions, the row path. The first w channels of both ranges must agree bitwise.
        int c = w + 4;
        Random random = new Random(7);
        float[] x = new float[n * c];
        float[] dy = new float[n * c];
        for (int i = 0; i < x.length; i++) {
            x[i] = 20f + (float) random.nextGaussian();
            dy[i] = (float) random.nextGaussian();
        }
        float[] center = new float[c];
        java.util.Arrays.fill(center, 20f);
        double[] mean = new double[c];
        double[] variance = new double[c];
        double[] rowMean = new double[c];
        double[] rowVariance = new double[c];
        vector.moments(x, 0, n, c, 1, c0, c0 + w, mean, variance);
        vector.moments(x, 0, n, c, 1, c0, c, rowMean, rowVariance);
        double[] sumDy = new double[c];
        double[] sumDyCentered = new double[c];
        double[] rowSumDy = new double[c];
        double[] rowSumDyCentered = new double[c];
        vector.gradientSums(dy, 0, x, 0, n, c, 1, c0, c0 + w, center, sumDy, sumDyCentered);
        vector.gradientSums(dy, 0, x, 0, n, c, 1, c0, c, center, rowSumDy, rowSumDyCentered);
        for (int ch = c0; ch < c0 + w; ch++) {
            assertEquals(rowMean[ch], mean[ch], 0.0, "mean of channel " + ch);
            assertEquals(rowVariance[ch], variance[ch], 0.0, "variance of channel " + ch);
            assertEquals(rowSumDy[ch], sumDy[ch], 0.0, "sum(dy) of channel " + ch);
            assertEquals(rowSumDyCentered[ch], sumDyCentered[ch], 0.0, "sum(dy * (x - center)) of channel " + ch);
        }
    }
}
