package dev.vecnorm.examples.lenet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The blocked products against their definitions, at shapes that reach every path at each vector width: whole
 * and overlapping column blocks, rows past a multiple of four, products narrower than a block, strided and
 * transposed A, offsets, and C rows wider than n (which must stay untouched).
 */
class GemmTest {

    private static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static void assertSameBits(float expected, float actual, String message) {
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                () -> message + ": expected " + expected + " but was " + actual);
    }

    @Test
    void everyElementIsOneFmaChainInKOrder() {
        Random random = new Random(11);
        int[][] shapes = {{1, 1, 1}, {3, 5, 2}, {4, 8, 3}, {5, 31, 7}, {6, 32, 25}, {7, 33, 4}, {16, 64, 150},
            {150, 64, 16}, {9, 120, 17}, {13, 84, 11}, {2, 97, 1}, {5, 33, 0}, {3, 5, 0}};
        for (int[] shape : shapes) {
            for (boolean transposedA : new boolean[] {false, true}) {
                for (boolean withInit : new boolean[] {false, true}) {
                    for (int padding : new int[] {0, 1}) {
                        check(shape[0], shape[1], shape[2], transposedA, padding, withInit, random);
                    }
                }
            }
        }
    }

    /**
     * C = init + A B against one {@code Math.fma} chain per element, bitwise. A's rows (columns when transposed)
     * are {@code padding} floats longer than the product needs, and the padding is NaN: reading it shows.
     */
    private static void check(int m, int n, int k, boolean transposedA, int padding, boolean withInit,
            Random random) {
        int aOffset = 3;
        int bOffset = 5;
        int ldb = n + 2;
        int cOffset = 7;
        int ldc = n + 3;
        int aRow = transposedA ? 1 : k + padding;
        int aCol = transposedA ? m + padding : 1;
        float[] a = new float[aOffset + (transposedA ? k * aCol : m * aRow) + 2];
        java.util.Arrays.fill(a, Float.NaN);
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                a[aOffset + i * aRow + p * aCol] = (float) random.nextGaussian();
            }
        }
        float[] b = random(bOffset + k * ldb, random);
        float[] init = withInit ? random(n, random) : null;
        float[] c = new float[cOffset + m * ldc + 4];
        java.util.Arrays.fill(c, Float.NaN);
        Gemm.multiply(m, n, k, a, aOffset, aRow, aCol, b, bOffset, ldb, init, c, cOffset, ldc);
        String where = m + "x" + n + "x" + k + (transposedA ? " A^T" : "") + (padding > 0 ? " padded A" : "")
                + (withInit ? " init" : "");
        for (int i = 0; i < c.length; i++) {
            int row = (i - cOffset) / ldc;
            int col = (i - cOffset) % ldc;
            boolean inside = i >= cOffset && row < m && col < n;
            if (!inside) {
                assertTrue(Float.isNaN(c[i]), where + ": wrote outside C at " + i);
                continue;
            }
            float expected = init == null ? 0f : init[col];
            for (int p = 0; p < k; p++) {
                expected = Math.fma(a[aOffset + row * aRow + p * aCol], b[bOffset + p * ldb + col], expected);
            }
            assertSameBits(expected, c[i], where + " at (" + row + ", " + col + ")");
        }
    }

    /**
     * What {@link Dot#addLanes} computes for one slot, in its order: lane t of the slot is an fma chain from its
     * previous value over the positions p = t (mod lanes) below the vector loop's bound; the tail past the bound
     * is then added to lane 0 in float, one rounded product and one rounded sum per position.
     */
    private static float[] laneReference(float[] before, int at, int lanes, float[] a, int aRow, float[] b,
            int bRow, int length) {
        int bound = length - length % lanes;
        float[] out = new float[lanes];
        for (int t = 0; t < lanes; t++) {
            float acc = before[at + t];
            for (int p = t; p < bound; p += lanes) {
                acc = Math.fma(a[aRow + p], b[bRow + p], acc);
            }
            out[t] = acc;
        }
        for (int p = bound; p < length; p++) {
            float product = a[aRow + p] * b[bRow + p];
            out[0] = out[0] + product;
        }
        return out;
    }

    @Test
    void laneSumsOfDotProductsAreEachLanesChainBitwise() {
        Random random = new Random(12);
        int lanes = Dot.lanes();
        // Lengths below, at and past multiples of every width's lane count (4, 8, 16), with and without a tail;
        // rows and columns past multiples of the 4 x 2 block, so that duplicated rows meet the tail.
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {6, 25, 576}, {16, 150, 64}, {5, 3, 37}, {4, 2, 16}, {7, 9, 100},
            {5, 33, 0}, {2, 3, 3}, {3, 1, 15}, {9, 7, 17}, {1, 2, 33}, {4, 4, 48}};
        for (int[] shape : shapes) {
            int m = shape[0];
            int n = shape[1];
            int length = shape[2];
            int aOffset = 2;
            int lda = length + 1;
            int bOffset = 4;
            int ldb = length + 3;
            float[] a = random(aOffset + m * lda, random);
            float[] b = random(bOffset + n * ldb, random);
            int ldl = n + 1;
            // One row of slots past m and one column past n: neither may be touched.
            float[] slots = new float[(m + 1) * ldl * lanes];
            float[] before = random(slots.length, random);
            System.arraycopy(before, 0, slots, 0, slots.length);
            Dot.addLanes(m, n, length, a, aOffset, lda, b, bOffset, ldb, slots, ldl);
            String shapeName = m + "x" + n + "x" + length + " at " + lanes + " lanes";
            for (int i = 0; i <= m; i++) {
                for (int j = 0; j < ldl; j++) {
                    int at = (i * ldl + j) * lanes;
                    if (i == m || j == n) {
                        for (int t = 0; t < lanes; t++) {
                            assertSameBits(before[at + t], slots[at + t], shapeName + ": slot past m or n touched");
                        }
                        continue;
                    }
                    float[] expected = laneReference(before, at, lanes, a, aOffset + i * lda, b, bOffset + j * ldb,
                            length);
                    for (int t = 0; t < lanes; t++) {
                        assertSameBits(expected[t], slots[at + t], shapeName + " (" + i + ", " + j + ") lane " + t);
                    }
                    float sum = 0;
                    for (int t = 0; t < lanes; t++) {
                        sum += expected[t];
                    }
                    assertSameBits(sum, Dot.sumLanes(slots, at), shapeName + " (" + i + ", " + j + ") sumLanes");
                }
            }
        }
    }
}
