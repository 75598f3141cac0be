package dev.vecnorm.proptest;

import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Distribution;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One generated batch-norm problem: shape, data distribution and seed, eps, and whether gamma/beta are used.
 * The tensors are derived from the seed, so a shrunk case is reproduced by its short toString.
 */
record BnCase(int[] dims, Distribution distribution, long seed, double eps, boolean affine) {

    NcsShape shape() {
        return NcsShape.of(dims);
    }

    float[] x() {
        return distribution.tensor(shape(), seed);
    }

    /** An upstream gradient for backward properties, independent of x. */
    float[] dy() {
        return Distribution.NORMAL.tensor(shape(), seed ^ 0x5DEECE66DL);
    }

    float[] gamma() {
        return affine ? Distribution.uniform(shape().c(), -2f, 2f, seed + 1) : null;
    }

    float[] beta() {
        return affine ? Distribution.uniform(shape().c(), -1f, 1f, seed + 2) : null;
    }

    /** gamma with the sign kept away from zero: for properties that divide by it. */
    float[] positiveGamma() {
        return Distribution.uniform(shape().c(), 0.25f, 2f, seed + 3);
    }

    SplittableRandom random() {
        return new SplittableRandom(seed * 31 + 7);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims) + " " + distribution + " eps=" + eps + (affine ? " affine" : "") + " seed="
                + seed;
    }
}
