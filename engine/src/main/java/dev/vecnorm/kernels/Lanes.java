package dev.vecnorm.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every Vector API kernel uses, chosen once: the preferred float species, or the width the
 * test-only property {@value #BIT_SIZE_PROPERTY} forces (128, 256, 512). Double lanes have the same vector size,
 * fed from half-width float vectors (same lane count), so a widened load is one double vector.
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

    /** Exact widening of {@link #DL} floats to doubles. */
    static DoubleVector widen(FloatVector halfWidth) {
        return (DoubleVector) halfWidth.convertShape(VectorOperators.F2D, D, 0);
    }
}
