package dev.vecnorm.internal.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every Vector API kernel uses, chosen once: the preferred float species, or the width the
 * test-only property {@value #BIT_SIZE_PROPERTY} forces (128, 256, 512). Double lanes have the same vector size,
 * fed from half-width float vectors (same lane count), so a widened load is one double vector. Kernels widen and
 * narrow in place ({@code (DoubleVector) v.convertShape(F2D, D, 0)}), never through a helper method of their own:
 * a call C2 leaves out of line boxes every vector that crosses it (see {@code NoVectorCrossesACallTest}).
 */
final class Lanes {

    /** Test-only system property: force a vector bit size (128, 256, 512) instead of the preferred one. */
    static final String BIT_SIZE_PROPERTY = "vecnorm.vectorBitSize";

    static final VectorSpecies<Float> F = species();
    static final int L = F.length();
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    static final VectorSpecies<Float> FH =
            VectorSpecies.of(float.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int DL = D.length();

    private Lanes() {
    }

    private static VectorSpecies<Float> species() {
        String bits = System.getProperty(BIT_SIZE_PROPERTY);
        if (bits == null || bits.isBlank()) {
            return FloatVector.SPECIES_PREFERRED;
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(bits.trim())));
    }


    /**
     * {@code sum over t of (lanes[at + t] + lanes[at + DL + t])}, t in lane order: two vectors' worth of lanes
     * added pairwise and then summed. Not {@code reduceLanes(ADD)}: its order is unspecified and differs between
     * C2's intrinsic and the interpreter, so the same call could give other bits before and after compilation
     * (found by PIT, which runs the tests with the JIT in another state).
     */
    static double sumInOrder(double[] lanes, int at) {
        double sum = 0;
        for (int t = 0; t < DL; t++) {
            sum += lanes[at + t] + lanes[at + DL + t];
        }
        return sum;
    }
}
