package dev.vecnorm.examples.lenet;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float species of the examples' kernels: the CPU's preferred one, or the width the engine's tests force
 * with {@code -Dvecnorm.vectorBitSize=128|256}, so the examples' tests run their vector code at every width too.
 */
final class Vectors {

    static final VectorSpecies<Float> F = species();

    private Vectors() {
    }

    private static VectorSpecies<Float> species() {
        String bits = System.getProperty("vecnorm.vectorBitSize");
        if (bits == null || bits.isBlank()) {
            return FloatVector.SPECIES_PREFERRED;
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(Integer.parseInt(bits.trim())));
    }
}
