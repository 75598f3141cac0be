package dev.vecnorm.examples.lenet;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C = init + A B} for the small matrices of LeNet's layers, register-blocked: four rows of C by two
 * vectors of columns stay in eight accumulators while k runs, so each step loads two vectors of B and four
 * scalars of A for eight fused multiply-adds (the axpy form loads and stores C at every step; conv2's forward
 * went from 4.7 to 1.1 ms per step of 256). B and C rows are contiguous; A is addressed through a row and a
 * column stride, so a transposed operand needs no copy. Every element of C is one chain of {@code Math.fma} in
 * k order from its initial value, whatever the blocking, so the bits do not depend on the vector width's tails
 * or on how rows are split across threads.
 */
final class Gemm {

    private static final VectorSpecies<Float> F = Vectors.F;
    private static final int ROWS = 4;
    private static final int COLUMN_BLOCK = 2 * F.length();

    private Gemm() {
    }

    /**
     * C = init + A B, where A is m x k with element (i, p) at {@code a[aOffset + i * aRowStride + p * aColStride]},
     * B is k x n with rows {@code ldb} apart from {@code bOffset}, C is m x n with rows {@code ldc} apart from
     * {@code cOffset}, and every row of C starts from {@code init[0, n)} (zeros when init is null). C is only
     * written, never read.
     */
    static void multiply(int m, int n, int k, float[] a, int aOffset, int aRowStride, int aColStride, float[] b,
            int bOffset, int ldb, float[] init, float[] c, int cOffset, int ldc) {
        if (n < COLUMN_BLOCK) {
            scalar(m, 0, n, k, a, aOffset, aRowStride, aColStride, b, bOffset, ldb, init, c, cOffset, ldc);
            return;
        }
        for (int from = 0; from < n; from += COLUMN_BLOCK) {
            // The last block ends at n and overlaps the one before: its columns are computed twice, with the
            // same bits, as C is not read. Masked loads for a partial block made C2 fall back to allocating
            // code, 4x slower.
            int j = Math.min(from, n - COLUMN_BLOCK);
            // Rows past m repeat row m - 1, for the same reason: conv1 has 6 output channels.
            for (int i = 0; i < m; i += ROWS) {
                block(Math.min(i, m - 1), Math.min(i + 1, m - 1), Math.min(i + 2, m - 1), Math.min(i + 3, m - 1),
                        j, k, a, aOffset, aRowStride, aColStride, b, bOffset, ldb, init, c, cOffset, ldc);
            }
        }
    }

    /** Narrow products, one scalar chain per element: the same bits as a vector lane. */
    private static void scalar(int m, int from, int to, int k, float[] a, int aOffset, int aRowStride,
            int aColStride, float[] b, int bOffset, int ldb, float[] init, float[] c, int cOffset, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = from; j < to; j++) {
                float sum = init == null ? 0f : init[j];
                for (int p = 0; p < k; p++) {
                    sum = Math.fma(a[aOffset + i * aRowStride + p * aColStride], b[bOffset + p * ldb + j], sum);
                }
                c[cOffset + i * ldc + j] = sum;
            }
        }
    }

    private static void block(int i0, int i1, int i2, int i3, int j, int k, float[] a, int aOffset,
            int aRowStride, int aColStride, float[] b, int bOffset, int ldb, float[] init, float[] c, int cOffset,
            int ldc) {
        int l = F.length();
        FloatVector start0 = init == null ? FloatVector.zero(F) : FloatVector.fromArray(F, init, j);
        FloatVector start1 = init == null ? FloatVector.zero(F) : FloatVector.fromArray(F, init, j + l);
        FloatVector acc00 = start0;
        FloatVector acc01 = start1;
        FloatVector acc10 = start0;
        FloatVector acc11 = start1;
        FloatVector acc20 = start0;
        FloatVector acc21 = start1;
        FloatVector acc30 = start0;
        FloatVector acc31 = start1;
        int a0 = aOffset + i0 * aRowStride;
        int a1 = aOffset + i1 * aRowStride;
        int a2 = aOffset + i2 * aRowStride;
        int a3 = aOffset + i3 * aRowStride;
        int bAt = bOffset + j;
        for (int p = 0; p < k; p++) {
            FloatVector b0 = FloatVector.fromArray(F, b, bAt);
            FloatVector b1 = FloatVector.fromArray(F, b, bAt + l);
            FloatVector w = FloatVector.broadcast(F, a[a0]);
            acc00 = w.fma(b0, acc00);
            acc01 = w.fma(b1, acc01);
            w = FloatVector.broadcast(F, a[a1]);
            acc10 = w.fma(b0, acc10);
            acc11 = w.fma(b1, acc11);
            w = FloatVector.broadcast(F, a[a2]);
            acc20 = w.fma(b0, acc20);
            acc21 = w.fma(b1, acc21);
            w = FloatVector.broadcast(F, a[a3]);
            acc30 = w.fma(b0, acc30);
            acc31 = w.fma(b1, acc31);
            a0 += aColStride;
            a1 += aColStride;
            a2 += aColStride;
            a3 += aColStride;
            bAt += ldb;
        }
        int c0 = cOffset + i0 * ldc + j;
        int c1 = cOffset + i1 * ldc + j;
        int c2 = cOffset + i2 * ldc + j;
        int c3 = cOffset + i3 * ldc + j;
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + l);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + l);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + l);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + l);
    }
}
