package dev.vecnorm.kernels;

import static dev.vecnorm.kernels.Lanes.F;
import static dev.vecnorm.kernels.Lanes.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The per-channel affine map along runs, {@code y = (x - centerHi) * scale + (shift - centerLo * scale)}, in
 * memory order (batch outer, channels inner: one long stream, as fast as a plain copy).
 *
 * <p>{@code x - centerHi} is exact for x near the mean, so a large offset costs no digits; the low part of the
 * center is folded into the shift in double (one operation per element fewer than subtracting it). The run loop
 * and its tail are separate small methods: C2 compiles each with its own profile, so a shape whose runs divide
 * evenly can't leave the tail compiled as a trap inside the loop another shape needs.
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
        if (limit < s) {
            tail(x, in, y, out, limit, s, center, a, b);
        }
    }

    /** Takes scalars, not vectors: a vector argument to a call C2 doesn't inline is boxed on every call. */
    private static void tail(float[] x, int in, float[] y, int out, int from, int s, float center, float a,
            float b) {
        VectorMask<Float> m = F.indexInRange(from, s);
        FloatVector.fromArray(F, x, in + from, m).sub(center).fma(FloatVector.broadcast(F, a),
                FloatVector.broadcast(F, b)).intoArray(y, out + from, m);
    }
}
