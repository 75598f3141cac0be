package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fused row normalize and element-wise affine (LayerNorm's and RMSNorm's forward): the vector kernel gives
 * the scalar reference's bits for widths with and without a tail at every vector width, each of the four affine
 * forms, offsets and in place; the reference is the per-row affine map followed by the element-wise fma, checked
 * against float64; elements outside the rows stay untouched.
 */
class NormalizeRowsTest {

    @Test
    void vectorRowsAreTheScalarReferenceBitwise() {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        Random random = new Random(5);
        for (int width : new int[] {1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 100, 4096}) {
            for (int rows : new int[] {1, 3}) {
                for (int form = 0; form < 4; form++) {
                    float[] gamma = (form & 1) == 0 ? values(width, random, 1f) : null;
                    float[] beta = (form & 2) == 0 ? values(width, random, 0f) : null;
                    float[] hi = values(rows, random, 100f);
                    float[] lo = values(rows, random, 0f);
                    float[] scale = values(rows, random, 2f);
                    for (int r = 0; r < rows; r++) {
                        lo[r] *= 1e-5f;
                    }
                    float[] x = values(5 + rows * width + 2, random, 100f);
                    float[] expected = values(3 + rows * width + 1, random, 0f);
                    float[] y = expected.clone();
                    scalar.normalizeRows(x, 5, expected, 3, rows, width, hi, lo, scale, gamma, beta);
                    vector.normalizeRows(x, 5, y, 3, rows, width, hi, lo, scale, gamma, beta);
                    String where = "width " + width + ", rows " + rows + ", form " + form;
                    for (int i = 0; i < y.length; i++) {
                        assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]),
                                where + ", element " + i);
                    }
                    float[] inPlace = x.clone();
                    vector.normalizeRows(inPlace, 5, inPlace, 5, rows, width, hi, lo, scale, gamma, beta);
                    for (int i = 0; i < rows * width; i++) {
                        assertEquals(Float.floatToRawIntBits(expected[3 + i]), Float.floatToRawIntBits(inPlace[5 + i]),
                                where + ", in place, element " + i);
                    }
                }
            }
        }
    }

    @Test
    void theScalarReferenceIsTheRowAffineThenTheElementAffine() {
        Random random = new Random(9);
        int rows = 3;
        int width = 5;
        float[] x = values(1 + rows * width, random, 1000f);
        float[] hi = {1000f, 999.5f, 1000.25f};
        float[] lo = {1e-4f, -3e-5f, 0f};
        float[] scale = {0.5f, 2f, 1.25f};
        float[] gamma = values(width, random, 1f);
        float[] beta = values(width, random, 0f);
        float[] y = new float[1 + rows * width];
        Kernels.scalar().normalizeRows(x, 1, y, 1, rows, width, hi, lo, scale, gamma, beta);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < width; j++) {
                double exact = ((x[1 + r * width + j] - (double) hi[r]) - lo[r]) * scale[r] * gamma[j] + beta[j];
                assertEquals(exact, y[1 + r * width + j], 1e-5 * (1 + Math.abs(exact)), "row " + r + ", column " + j);
            }
        }
        assertEquals(0f, y[0], 0f, "before the rows");
    }

    @Test
    void missingGammaAndBetaAreExactIdentitiesSignedZerosIncluded() {
        // 40 elements: the zeros sit in the vector part at every width (and in the scalar tail at 512 bits).
        int width = 40;
        float[] x = new float[width];
        float[] negativeOne = new float[width];
        float[] ones = new float[width];
        for (int j = 0; j < width; j++) {
            x[j] = j % 3 == 0 ? 3f : 3f + j;
            negativeOne[j] = -1f;
            ones[j] = 1f;
        }
        float[] hi = {3f};
        float[] lo = {0f};
        float[] scale = {2f};
        for (BatchNormKernels k : new BatchNormKernels[] {Kernels.scalar(), Kernels.vector().orElseThrow()}) {
            float[] onlyGamma = new float[width];
            float[] onlyBeta = new float[width];
            float[] neither = new float[width];
            k.normalizeRows(x, 0, onlyGamma, 0, 1, width, hi, lo, scale, negativeOne, null);
            k.normalizeRows(x, 0, onlyBeta, 0, 1, width, hi, lo, scale, null, ones);
            k.normalizeRows(x, 0, neither, 0, 1, width, hi, lo, scale, null, null);
            for (int j = 0; j < width; j++) {
                float t = 2f * (x[j] - 3f);
                String where = k.name() + ", element " + j;
                // t * -1 without beta: -0 where t is +0 (an added +0 would make it +0).
                assertEquals(Float.floatToRawIntBits(-t), Float.floatToRawIntBits(onlyGamma[j]), where + " gamma only");
                assertEquals(t + 1f, onlyBeta[j], 0f, where + " beta only");
                // Neither: t itself, +0 staying +0 (an added -0 keeps it, a multiply by 1 too).
                assertEquals(Float.floatToRawIntBits(t), Float.floatToRawIntBits(neither[j]), where + " neither");
            }
        }
    }

    private static float[] values(int n, Random random, float offset) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = offset + (float) random.nextGaussian();
        }
        return a;
    }
}
