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
}
