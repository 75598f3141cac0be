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

    @Test
    void everyElementIsOneFmaChainInKOrder() {
        Random random = new Random(11);
        int[][] shapes = {{1, 1, 1}, {3, 5, 2}, {4, 8, 3}, {5, 31, 7}, {6, 32, 25}, {7, 33, 4}, {16, 64, 150},
            {150, 64, 16}, {9, 120, 17}, {13, 84, 11}, {2, 97, 1}};
        for (int[] shape : shapes) {
            for (boolean transposedA : new boolean[] {false, true}) {
                for (boolean withInit : new boolean[] {false, true}) {
                    check(shape[0], shape[1], shape[2], transposedA, withInit, random);
                }
            }
        }
    }

    private static void check(int m, int n, int k, boolean transposedA, boolean withInit, Random random) {
        int aOffset = 3;
        int bOffset = 5;
        int ldb = n + 2;
        int cOffset = 7;
        int ldc = n + 3;
        float[] a = random(aOffset + m * k, random);
        int aRow = transposedA ? 1 : k;
        int aCol = transposedA ? m : 1;
        float[] b = random(bOffset + k * ldb, random);
        float[] init = withInit ? random(n, random) : null;
        float[] c = new float[cOffset + m * ldc + 4];
        java.util.Arrays.fill(c, Float.NaN);
        Gemm.multiply(m, n, k, a, aOffset, aRow, aCol, b, bOffset, ldb, init, c, cOffset, ldc);
        String where = m + "x" + n + "x" + k + (transposedA ? " A^T" : "") + (withInit ? " init" : "");
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
            assertEquals(expected, c[i], 0f, where + " at (" + row + ", " + col + ")");
        }
    }

    @Test
    void laneSumsOfDotProductsAgreeWithDouble() {
        Random random = new Random(12);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {6, 25, 576}, {16, 150, 64}, {5, 3, 37}, {4, 2, 16}, {7, 9, 100}};
        int lanes = Dot.lanes();
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
            float[] slots = new float[m * ldl * lanes];
            float[] before = random(slots.length, random);
            System.arraycopy(before, 0, slots, 0, slots.length);
            Dot.addLanes(m, n, length, a, aOffset, lda, b, bOffset, ldb, slots, ldl);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldl; j++) {
                    int at = (i * ldl + j) * lanes;
                    if (j == n) {
                        for (int t = 0; t < lanes; t++) {
                            assertEquals(before[at + t], slots[at + t], 0f, "slot past n touched");
                        }
                        continue;
                    }
                    double exact = Dot.sumLanes(before, at);
                    double magnitude = Math.abs(exact);
                    for (int p = 0; p < length; p++) {
                        double term = (double) a[aOffset + i * lda + p] * b[bOffset + j * ldb + p];
                        exact += term;
                        magnitude += Math.abs(term);
                    }
                    // Float sums of length + lanes terms: each rounding is at most 2^-24 of the running
                    // magnitude; a term dropped or counted twice is off by far more (|term| ~ 1).
                    double bound = (length + 2 * lanes) * 0x1p-24 * (magnitude + 1);
                    double got = Dot.sumLanes(slots, at);
                    assertTrue(Math.abs(got - exact) <= bound,
                            m + "x" + n + "x" + length + " (" + i + ", " + j + "): " + got + " vs " + exact);
                }
            }
        }
    }
}
