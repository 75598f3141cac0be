package dev.vecnorm.examples.lenet;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float dot products with the Vector API: C2 does not vectorize a float sum (it may not reorder it), and the
 * convolution's weight gradient is made of such sums. The order is fixed by the species.
 */
final class Dot {

    private static final VectorSpecies<Float> F = Vectors.F;

    private Dot() {
    }

    /** Lanes of the vector species: the width of the per-lane accumulators {@link #addLanes} fills. */
    static int lanes() {
        return F.length();
    }

    /**
     * For every row i < m of A and row j < n of B (rows of {@code length} floats, {@code lda} and {@code ldb}
     * apart), adds the lane-wise partial sums of their dot product to the {@link #lanes()} floats of
     * {@code lanes} at {@code (i * ldl + j) * lanes()}, without reducing them: a caller that accumulates many
     * products reduces each once at the end ({@link #sumLanes}). Four rows of A by two of B share their loads in
     * eight accumulators (conv1's weight gradient 2.7 -> 0.6 ms per step against a padded {@link Gemm}).
     */
    static void addLanes(int m, int n, int length, float[] a, int aOffset, int lda, float[] b, int bOffset,
            int ldb, float[] lanes, int ldl) {
        // Rows past the end repeat the last one: the duplicate accumulators load, compute and store the same
        // values, which costs less than a kernel for the remainders.
        for (int i = 0; i < m; i += 4) {
            for (int j = 0; j < n; j += 2) {
                block(Math.min(i, m - 1), Math.min(i + 1, m - 1), Math.min(i + 2, m - 1), Math.min(i + 3, m - 1),
                        Math.min(j, n - 1), Math.min(j + 1, n - 1), length, a, aOffset, lda, b, bOffset, ldb, lanes,
                        ldl);
            }
        }
    }

    private static void block(int i0, int i1, int i2, int i3, int j0, int j1, int length, float[] a, int aOffset,
            int lda, float[] b, int bOffset, int ldb, float[] lanes, int ldl) {
        int l = F.length();
        int s00 = (i0 * ldl + j0) * l;
        int s01 = (i0 * ldl + j1) * l;
        int s10 = (i1 * ldl + j0) * l;
        int s11 = (i1 * ldl + j1) * l;
        int s20 = (i2 * ldl + j0) * l;
        int s21 = (i2 * ldl + j1) * l;
        int s30 = (i3 * ldl + j0) * l;
        int s31 = (i3 * ldl + j1) * l;
        FloatVector acc00 = FloatVector.fromArray(F, lanes, s00);
        FloatVector acc01 = FloatVector.fromArray(F, lanes, s01);
        FloatVector acc10 = FloatVector.fromArray(F, lanes, s10);
        FloatVector acc11 = FloatVector.fromArray(F, lanes, s11);
        FloatVector acc20 = FloatVector.fromArray(F, lanes, s20);
        FloatVector acc21 = FloatVector.fromArray(F, lanes, s21);
        FloatVector acc30 = FloatVector.fromArray(F, lanes, s30);
        FloatVector acc31 = FloatVector.fromArray(F, lanes, s31);
        int a0 = aOffset + i0 * lda;
        int a1 = aOffset + i1 * lda;
        int a2 = aOffset + i2 * lda;
        int a3 = aOffset + i3 * lda;
        int b0 = bOffset + j0 * ldb;
        int b1 = bOffset + j1 * ldb;
        int p = 0;
        for (int limit = F.loopBound(length); p < limit; p += l) {
            FloatVector v0 = FloatVector.fromArray(F, b, b0 + p);
            FloatVector v1 = FloatVector.fromArray(F, b, b1 + p);
            FloatVector u = FloatVector.fromArray(F, a, a0 + p);
            acc00 = u.fma(v0, acc00);
            acc01 = u.fma(v1, acc01);
            u = FloatVector.fromArray(F, a, a1 + p);
            acc10 = u.fma(v0, acc10);
            acc11 = u.fma(v1, acc11);
            u = FloatVector.fromArray(F, a, a2 + p);
            acc20 = u.fma(v0, acc20);
            acc21 = u.fma(v1, acc21);
            u = FloatVector.fromArray(F, a, a3 + p);
            acc30 = u.fma(v0, acc30);
            acc31 = u.fma(v1, acc31);
        }
        acc00.intoArray(lanes, s00);
        acc01.intoArray(lanes, s01);
        acc10.intoArray(lanes, s10);
        acc11.intoArray(lanes, s11);
        acc20.intoArray(lanes, s20);
        acc21.intoArray(lanes, s21);
        acc30.intoArray(lanes, s30);
        acc31.intoArray(lanes, s31);
        // A tail shorter than a vector goes to lane 0. Every tail is read before any is written: duplicated
        // rows share a slot and must not add their tail twice.
        if (p < length) {
            float t00 = tail(a, a0, b, b0, p, length, lanes[s00]);
            float t01 = tail(a, a0, b, b1, p, length, lanes[s01]);
            float t10 = tail(a, a1, b, b0, p, length, lanes[s10]);
            float t11 = tail(a, a1, b, b1, p, length, lanes[s11]);
            float t20 = tail(a, a2, b, b0, p, length, lanes[s20]);
            float t21 = tail(a, a2, b, b1, p, length, lanes[s21]);
            float t30 = tail(a, a3, b, b0, p, length, lanes[s30]);
            float t31 = tail(a, a3, b, b1, p, length, lanes[s31]);
            lanes[s00] = t00;
            lanes[s01] = t01;
            lanes[s10] = t10;
            lanes[s11] = t11;
            lanes[s20] = t20;
            lanes[s21] = t21;
            lanes[s30] = t30;
            lanes[s31] = t31;
        }
    }

    private static float tail(float[] a, int aRow, float[] b, int bRow, int from, int length, float sum) {
        for (int p = from; p < length; p++) {
            sum += a[aRow + p] * b[bRow + p];
        }
        return sum;
    }

    /** The lanes at {@code at} summed in lane order. */
    static float sumLanes(float[] lanes, int at) {
        float sum = 0;
        for (int lane = 0; lane < F.length(); lane++) {
            sum += lanes[at + lane];
        }
        return sum;
    }
}
