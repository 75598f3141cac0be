package dev.vecnorm.kernels;

import static dev.vecnorm.kernels.Lanes.F;
import static dev.vecnorm.kernels.Lanes.L;

import jdk.incubator.vector.FloatVector;

/**
 * The per-channel affine map along runs, {@code y = (x - centerHi) * scale + (shift - centerLo * scale)}, in
 * memory order (batch outer, channels inner: one long stream, as fast as a plain copy).
 *
 * <p>{@code x - centerHi} is exact for x near the mean, so a large offset costs no digits; the low part of the
 * center is folded into the shift in double (one operation per element fewer than subtracting it). The run loop is
 * its own small method that takes and returns no vectors (a vector crossing a call C2 does not inline is boxed).
 */
final class AffineRuns {

    private AffineRuns() {
    }

    static boolean applies(int s) {
        return s >= L;
    }

    static void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int row = c * s;
        for (int i = 0; i < n; i++) {
            int in = xOffset + i * row;
            int out = yOffset + i * row;
            for (int ch = c0; ch < c1; ch++) {
                float a = scale[ch];
                float b = (float) (shift[ch] - (double) centerLo[ch] * a);
                run(x, in + ch * s, y, out + ch * s, s, centerHi[ch], a, b);
            }
        }
    }

    private static void run(float[] x, int in, float[] y, int out, int s, float center, float a, float b) {
        FloatVector vc = FloatVector.broadcast(F, center);
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            FloatVector.fromArray(F, x, in + j).sub(vc).fma(va, vb).intoArray(y, out + j);
        }
        // The tail (under one vector) in scalar fused multiply-adds, the same bits as a vector lane: a masked
        // step costs more than a few scalar ones (measured: 32x2048x49x1 0.51 ms masked vs 0.35 ms at s = 48).
        for (int j = limit; j < s; j++) {
            y[out + j] = Math.fma(x[in + j] - center, a, b);
        }
    }
}
