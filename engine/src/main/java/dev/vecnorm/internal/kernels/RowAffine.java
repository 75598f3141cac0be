package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.F;
import static dev.vecnorm.internal.kernels.Lanes.L;

import jdk.incubator.vector.FloatVector;

/**
 * LayerNorm's and RMSNorm's normalize and element-wise affine in one pass ({@link BatchNormKernels#normalizeRows}):
 * each element is read and written once, where a row normalize followed by a separate gamma/beta pass read and
 * wrote y twice (2048x4096 forward 2.55 -> see RESULTS.md).
 *
 * <p>The missing gamma and beta become 1 and -0, the exact identities of a fused multiply-add ({@code fma(t, 1, b)
 * = t + b} and {@code fma(t, g, -0) = t * g}, signed zeros included), so one loop serves every affine form and
 * gives the bits of the scalar reference. The row loop is its own method that takes and returns no vectors.
 */
final class RowAffine {

    private RowAffine() {
    }

    static void normalize(float[] x, int xOffset, float[] y, int yOffset, int rows, int width, float[] centerHi,
            float[] centerLo, float[] scale, float[] gamma, float[] beta) {
        for (int r = 0, at = 0; r < rows; r++, at += width) {
            float a = scale[r];
            float b = (float) (0.0 - (double) centerLo[r] * a);
            row(x, xOffset + at, y, yOffset + at, width, centerHi[r], a, b, gamma, beta);
        }
    }

    private static void row(float[] x, int in, float[] y, int out, int width, float center, float a, float b,
            float[] gamma, float[] beta) {
        FloatVector vc = FloatVector.broadcast(F, center);
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector negativeZero = FloatVector.broadcast(F, -0f);
        int limit = width - width % L;
        for (int j = 0; j < limit; j += L) {
            FloatVector g = gamma == null ? one : FloatVector.fromArray(F, gamma, j);
            FloatVector h = beta == null ? negativeZero : FloatVector.fromArray(F, beta, j);
            FloatVector.fromArray(F, x, in + j).sub(vc).fma(va, vb).fma(g, h).intoArray(y, out + j);
        }
        for (int j = limit; j < width; j++) {
            float t = Math.fma(x[in + j] - center, a, b);
            y[out + j] = Math.fma(t, gamma == null ? 1f : gamma[j], beta == null ? -0f : beta[j]);
        }
    }
}
