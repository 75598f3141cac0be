package dev.vecnorm.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The row-wise element scale and shift (LayerNorm's and RMSNorm's affine): the vector kernel gives the scalar
 * reference's bits (one fused multiply-add per element in both), for widths with and without a tail at every
 * vector width, null scale or shift, and an offset; elements outside the rows stay untouched.
 */
class ScaleShiftRowsTest {

    @Test
    void vectorRowsAreTheScalarReferenceBitwise() {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        Random random = new Random(5);
        for (int width : new int[] {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 100, 4096}) {
            for (int rows : new int[] {1, 3}) {
                for (int nulls = 0; nulls < 3; nulls++) {
                    float[] scale = nulls == 1 ? null : values(width, random, 1f);
                    float[] shift = nulls == 2 ? null : values(width, random, 0f);
                    float[] y = values(5 + rows * width + 2, random, 0f);
                    float[] expected = y.clone();
                    scalar.scaleShiftRows(expected, 5, rows, width, scale, shift);
                    vector.scaleShiftRows(y, 5, rows, width, scale, shift);
                    for (int i = 0; i < y.length; i++) {
                        assertEquals(expected[i], y[i], 0f, "width " + width + ", rows " + rows + ", nulls " + nulls
                                + ", element " + i);
                    }
                }
            }
        }
    }

    @Test
    void theScalarReferenceIsTheDefinition() {
        float[] y = {9f, 1f, 2f, 3f, 4f, 5f, 6f, 9f};
        Kernels.scalar().scaleShiftRows(y, 1, 2, 3, new float[] {2f, 3f, 4f}, new float[] {0.5f, 0f, -1f});
        float[] expected = {9f, 2.5f, 6f, 11f, 8.5f, 15f, 23f, 9f};
        for (int i = 0; i < y.length; i++) {
            assertEquals(expected[i], y[i], 0f, "element " + i);
        }
        float[] onlyShift = {1f, 2f};
        Kernels.scalar().scaleShiftRows(onlyShift, 0, 1, 2, null, new float[] {1f, -1f});
        assertEquals(2f, onlyShift[0], 0f);
        assertEquals(1f, onlyShift[1], 0f);
        float[] onlyScale = {1f, 2f};
        Kernels.scalar().scaleShiftRows(onlyScale, 0, 1, 2, new float[] {3f, -1f}, null);
        assertEquals(3f, onlyScale[0], 0f);
        assertEquals(-2f, onlyScale[1], 0f);
    }

    private static float[] values(int n, Random random, float offset) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = offset + (float) random.nextGaussian();
        }
        return a;
    }
}
