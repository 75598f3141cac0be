package dev.vecnorm;

import dev.vecnorm.kernels.BatchNormKernels;

/**
 * Per-element scale and shift of normalized rows (LayerNorm's and RMSNorm's gamma and beta), as a batch-norm
 * pass over the view in which each element of a row is a channel: (R, D, 1).
 */
final class ElementAffine {

    private ElementAffine() {
    }

    /** {@code y = y * gamma_j + beta_j} in place; nothing when both are null. */
    static void apply(BatchNormKernels kernels, RowNormalization rn, float[] y, int yOffset, float[] gamma,
            float[] beta) {
        if (gamma == null && beta == null) {
            return;
        }
        int d = rn.width();
        float[] zero = new float[d];
        float[] scale = gamma != null ? gamma : filled(d, 1f);
        float[] shift = beta != null ? beta : zero;
        kernels.affine(y, yOffset, y, yOffset, rn.rows(), d, 1, 0, d, zero, zero, scale, shift);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
