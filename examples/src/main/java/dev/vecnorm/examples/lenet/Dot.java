package dev.vecnorm.examples.lenet;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float dot products with the Vector API: C2 does not vectorize a float sum (it may not reorder it), and the
 * convolution's weight gradient and the linear layers are made of such sums. The order is fixed by the species.
 */
final class Dot {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Dot() {
    }

    static float dot(float[] a, int aFrom, float[] b, int bFrom, int length) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int limit = F.loopBound(length); i < limit; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aFrom + i).fma(FloatVector.fromArray(F, b, bFrom + i), acc);
        }
        // Lanes in lane order: reduceLanes(ADD) adds them in one order when interpreted and in another when
        // compiled, which made runs differ in the last bit depending on JIT timing.
        float sum = 0;
        for (int lane = 0; lane < F.length(); lane++) {
            sum += acc.lane(lane);
        }
        for (; i < length; i++) {
            sum += a[aFrom + i] * b[bFrom + i];
        }
        return sum;
    }

    /** Lanes of the vector species: the width of the per-lane accumulators {@link #addLanes} fills. */
    static int lanes() {
        return F.length();
    }

    /**
     * Adds the lane-wise partial sums of a dot product to {@code lanes[at, at + lanes())}, without reducing
     * them: a caller that accumulates many dot products reduces each once at the end ({@link #sumLanes}).
     */
    static void addLanes(float[] a, int aFrom, float[] b, int bFrom, int length, float[] lanes, int at) {
        FloatVector acc = FloatVector.fromArray(F, lanes, at);
        int i = 0;
        for (int limit = F.loopBound(length); i < limit; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aFrom + i).fma(FloatVector.fromArray(F, b, bFrom + i), acc);
        }
        acc.intoArray(lanes, at);
        for (; i < length; i++) {
            lanes[at] += a[aFrom + i] * b[bFrom + i];
        }
    }

    /**
     * {@link #addLanes} for four rows of {@code a} (at aFrom + j * aStride) against one row of {@code b}, into
     * lanes at at + j * lanesStride: each load of b serves four products.
     */
    static void addLanes4(float[] a, int aFrom, int aStride, float[] b, int bFrom, int length, float[] lanes,
            int at, int lanesStride) {
        FloatVector acc0 = FloatVector.fromArray(F, lanes, at);
        FloatVector acc1 = FloatVector.fromArray(F, lanes, at + lanesStride);
        FloatVector acc2 = FloatVector.fromArray(F, lanes, at + 2 * lanesStride);
        FloatVector acc3 = FloatVector.fromArray(F, lanes, at + 3 * lanesStride);
        int i = 0;
        for (int limit = F.loopBound(length); i < limit; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, b, bFrom + i);
            acc0 = FloatVector.fromArray(F, a, aFrom + i).fma(v, acc0);
            acc1 = FloatVector.fromArray(F, a, aFrom + aStride + i).fma(v, acc1);
            acc2 = FloatVector.fromArray(F, a, aFrom + 2 * aStride + i).fma(v, acc2);
            acc3 = FloatVector.fromArray(F, a, aFrom + 3 * aStride + i).fma(v, acc3);
        }
        acc0.intoArray(lanes, at);
        acc1.intoArray(lanes, at + lanesStride);
        acc2.intoArray(lanes, at + 2 * lanesStride);
        acc3.intoArray(lanes, at + 3 * lanesStride);
        for (; i < length; i++) {
            for (int j = 0; j < 4; j++) {
                lanes[at + j * lanesStride] += a[aFrom + j * aStride + i] * b[bFrom + i];
            }
        }
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
