package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The across-positions affine (channels-last and rank 2) on many wide rows: every element gets the bits it gets
 * when its row runs alone (a guard for any blocking of rows, such as two rows per coefficient load, which was
 * tried), for an odd and an even number of rows, rows with and without a tail, a channel range that starts past
 * 0, in place, and at every vector width; and the scalar reference's value within float rounding.
 */
class RowsTogetherTest {

    @Test
    void pairedRowsAreEachRowAloneBitwise() {
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        BatchNormKernels scalar = Kernels.scalar();
        Random random = new Random(11);
        for (int c : new int[] {512, 515, 1030, 600}) {
            for (int n : new int[] {1, 2, 5}) {
                for (int c0 : new int[] {0, 3}) {
                    int c1 = c0 == 0 ? c : c - 1;
                    float[] x = new float[n * c];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = 100f + (float) random.nextGaussian();
                    }
                    float[] hi = new float[c];
                    float[] lo = new float[c];
                    float[] scale = new float[c];
                    float[] shift = new float[c];
                    for (int ch = 0; ch < c; ch++) {
                        hi[ch] = 100f + 0.1f * (float) random.nextGaussian();
                        lo[ch] = 1e-6f * (float) random.nextGaussian();
                        scale[ch] = 0.5f + random.nextFloat();
                        shift[ch] = (float) random.nextGaussian();
                    }
                    float[] alone = new float[n * c];
                    for (int i = 0; i < n; i++) {
                        vector.affine(x, i * c, alone, i * c, 1, c, 1, c0, c1, hi, lo, scale, shift);
                    }
                    float[] together = new float[n * c];
                    vector.affine(x, 0, together, 0, n, c, 1, c0, c1, hi, lo, scale, shift);
                    float[] inPlace = x.clone();
                    vector.affine(inPlace, 0, inPlace, 0, n, c, 1, c0, c1, hi, lo, scale, shift);
                    float[] reference = new float[n * c];
                    scalar.affine(x, 0, reference, 0, n, c, 1, c0, c1, hi, lo, scale, shift);
                    String where = "C " + c + ", N " + n + ", channels [" + c0 + ", " + c1 + ")";
                    for (int i = 0; i < n; i++) {
                        for (int ch = c0; ch < c1; ch++) {
                            int k = i * c + ch;
                            assertEquals(alone[k], together[k], 0f, where + ", element " + k);
                            assertEquals(alone[k], inPlace[k], 0f, where + ", in place, element " + k);
                            assertEquals(reference[k], together[k], 1e-5f * (1 + Math.abs(reference[k])),
                                    where + ", reference, element " + k);
                        }
                    }
                }
            }
        }
    }
}
