package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.F;
import static dev.vecnorm.internal.kernels.Lanes.L;

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

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    static boolean applies(int s) {
        return s >= L;
    }

    /** The shift with the center's low part folded in, as every affine pass (array or segment) computes it. */
    static float foldedShift(float shift, float centerLo, float scale) {
        return (float) (shift - (double) centerLo * scale);
    }

    /**
     * Per-position coefficients of channels [c0, c1) for the passes across positions, in the calling thread's
     * scratch: three rows {@link #coefficientStride} apart, the center, scale and folded shift of each position's
     * channel.
     */
    static float[] positionCoefficients(int c0, int c1, int s, float[] centerHi, float[] centerLo, float[] scale,
            float[] shift) {
        int width = (c1 - c0) * s;
        int stride = coefficientStride(width);
        float[][] own = SCRATCH.get();
        if (own[0].length < 2 * stride + width) {
            own[0] = new float[2 * stride + width];
        }
        float[] p = own[0];
        for (int k = 0, q = 0; k < c1 - c0; k++) {
            int ch = c0 + k;
            float b = foldedShift(shift[ch], centerLo[ch], scale[ch]);
            for (int j = 0; j < s; j++, q++) {
                p[q] = centerHi[ch];
                p[stride + q] = scale[ch];
                p[2 * stride + q] = b;
            }
        }
        return p;
    }

    /** The distance between the rows of {@link #positionCoefficients} for {@code width} positions. */
    static int coefficientStride(int width) {
        return StaggeredRows.stride(width, Float.BYTES);
    }

    /**
     * Short runs (rank 2 has s = 1): each batch row of the block is contiguous; lanes hold positions, with
     * per-position coefficients that stay in L1 while the rows stream.
     */
    static void acrossPositions(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int width = (c1 - c0) * s;
        int coefStride = coefficientStride(width);
        float[] p = positionCoefficients(c0, c1, s, centerHi, centerLo, scale, shift);
        int row = c * s;
        int i = 0;
        if (width >= FOUR_ROW_WIDTH) {
            for (; i + 4 <= n; i += 4) {
                fourRows(x, xOffset + i * row + c0 * s, y, yOffset + i * row + c0 * s, row, width, p, coefStride);
            }
        }
        for (; i < n; i++) {
            row(x, xOffset + i * row + c0 * s, y, yOffset + i * row + c0 * s, width, p, coefStride);
        }
    }

    /**
     * Rows of at least this many floats take {@link #fourRows}: their three coefficient rows (24 KiB and up) no
     * longer stay in L1 beside the streams of x and y, so one coefficient load per four rows pays. Narrower rows
     * keep one row at a time, one contiguous stream: four interleaved streams of short rows measured up to 1.6x
     * slower from DRAM (Zen 5, 25088 rows of 512: 5.4 ms one row at a time, 7.0 ms four; rows of 2048: 14.5 vs
     * 10.3 ms, and 1.8 vs 1.0 ms for the L3-resident 1568 rows of ResNet-50's last stage).
     */
    static final int FOUR_ROW_WIDTH = 2048;

    /** {@link #row} on four rows {@code stride} apart, loading each coefficient vector once: the same bits. */
    private static void fourRows(float[] x, int in, float[] y, int out, int stride, int width, float[] cf,
            int coefStride) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, coefStride + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * coefStride + q);
            FloatVector.fromArray(F, x, in + q).sub(vc).fma(va, vb).intoArray(y, out + q);
            FloatVector.fromArray(F, x, in + stride + q).sub(vc).fma(va, vb).intoArray(y, out + stride + q);
            FloatVector.fromArray(F, x, in + 2 * stride + q).sub(vc).fma(va, vb).intoArray(y, out + 2 * stride + q);
            FloatVector.fromArray(F, x, in + 3 * stride + q).sub(vc).fma(va, vb).intoArray(y, out + 3 * stride + q);
        }
        for (int r = 0; r < 4; r++) {
            for (int q = limit; q < width; q++) {
                y[out + r * stride + q] =
                        Math.fma(x[in + r * stride + q] - cf[q], cf[coefStride + q], cf[2 * coefStride + q]);
            }
        }
    }

    private static void row(float[] x, int in, float[] y, int out, int width, float[] cf,
            int coefStride) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            FloatVector.fromArray(F, x, in + q).sub(FloatVector.fromArray(F, cf, q))
                    .fma(FloatVector.fromArray(F, cf, coefStride + q),
                            FloatVector.fromArray(F, cf, 2 * coefStride + q))
                    .intoArray(y, out + q);
        }
        for (int q = limit; q < width; q++) {
            y[out + q] = Math.fma(x[in + q] - cf[q], cf[coefStride + q], cf[2 * coefStride + q]);
        }
    }

    static void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int row = c * s;
        for (int i = 0; i < n; i++) {
            int in = xOffset + i * row;
            int out = yOffset + i * row;
            for (int ch = c0; ch < c1; ch++) {
                float a = scale[ch];
                float b = foldedShift(shift[ch], centerLo[ch], a);
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

    /** {@link BatchNormKernels#affineFused}: the affine map, then the residual and ReLU while y is in registers. */
    static void affineFused(float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        int row = c * s;
        if (s >= L) {
            for (int i = 0; i < n; i++) {
                for (int ch = c0; ch < c1; ch++) {
                    int run = i * row + ch * s;
                    float a = scale[ch];
                    float b = foldedShift(shift[ch], centerLo[ch], a);
                    if (z == null) {
                        runRelu(x, xOffset + run, y, yOffset + run, s, centerHi[ch], a, b);
                    } else {
                        runResidual(x, xOffset + run, z, zOffset + run, y, yOffset + run, s, centerHi[ch], a, b,
                                relu);
                    }
                }
            }
            return;
        }
        int width = (c1 - c0) * s;
        int coefStride = coefficientStride(width);
        float[] p = positionCoefficients(c0, c1, s, centerHi, centerLo, scale, shift);
        int i = 0;
        if (width >= FOUR_ROW_WIDTH) {
            for (; i + 4 <= n; i += 4) {
                int at = i * row + c0 * s;
                fourRowsFused(x, xOffset + at, z, zOffset + at, y, yOffset + at, row, width, p, coefStride, relu);
            }
        }
        for (; i < n; i++) {
            int at = i * row + c0 * s;
            rowFused(x, xOffset + at, z, zOffset + at, y, yOffset + at, width, p, coefStride, relu);
        }
    }

    /** {@link #rowFused} on four rows {@code stride} apart, as {@link #fourRows} is to {@link #row}. */
    private static void fourRowsFused(float[] x, int in, float[] z, int zin, float[] y, int out, int stride,
            int width, float[] cf, int coefStride, boolean relu) {
        // max(v, -inf) is v: the ReLU switched off without a branch, as in runResidual.
        FloatVector floor = FloatVector.broadcast(F, relu ? 0f : Float.NEGATIVE_INFINITY);
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, coefStride + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * coefStride + q);
            for (int r = 0; r < 4; r++) {
                FloatVector v = FloatVector.fromArray(F, x, in + r * stride + q).sub(vc).fma(va, vb);
                if (z != null) {
                    v = v.add(FloatVector.fromArray(F, z, zin + r * stride + q));
                }
                v.max(floor).intoArray(y, out + r * stride + q);
            }
        }
        for (int r = 0; r < 4; r++) {
            for (int q = limit; q < width; q++) {
                y[out + r * stride + q] = epilogue(
                        Math.fma(x[in + r * stride + q] - cf[q], cf[coefStride + q], cf[2 * coefStride + q]),
                        z, zin + r * stride + q, relu);
            }
        }
    }

    // One loop per epilogue: a single loop testing the residual and the ReLU per vector, or a dispatching call
    // per run, cost 35-43% at 7x7 when a program used both forms.
    private static void runRelu(float[] x, int in, float[] y, int out, int s, float center, float a, float b) {
        FloatVector vc = FloatVector.broadcast(F, center);
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        FloatVector zero = FloatVector.zero(F);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            FloatVector.fromArray(F, x, in + j).sub(vc).fma(va, vb).max(zero).intoArray(y, out + j);
        }
        for (int j = limit; j < s; j++) {
            y[out + j] = Math.max(Math.fma(x[in + j] - center, a, b), 0f);
        }
    }

    private static void runResidual(float[] x, int in, float[] z, int zin, float[] y, int out, int s, float center,
            float a, float b, boolean relu) {
        FloatVector vc = FloatVector.broadcast(F, center);
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        // max(v, -inf) is v: a ReLU that can be switched off without a branch in the loop.
        FloatVector floor = FloatVector.broadcast(F, relu ? 0f : Float.NEGATIVE_INFINITY);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            FloatVector.fromArray(F, x, in + j).sub(vc).fma(va, vb).add(FloatVector.fromArray(F, z, zin + j))
                    .max(floor).intoArray(y, out + j);
        }
        for (int j = limit; j < s; j++) {
            y[out + j] = epilogue(Math.fma(x[in + j] - center, a, b), z, zin + j, relu);
        }
    }

    private static void rowFused(float[] x, int in, float[] z, int zin, float[] y, int out, int width,
            float[] cf, int coefStride, boolean relu) {
        FloatVector zero = FloatVector.zero(F);
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            FloatVector v = FloatVector.fromArray(F, x, in + q).sub(FloatVector.fromArray(F, cf, q))
                    .fma(FloatVector.fromArray(F, cf, coefStride + q),
                            FloatVector.fromArray(F, cf, 2 * coefStride + q));
            if (z != null) {
                v = v.add(FloatVector.fromArray(F, z, zin + q));
            }
            if (relu) {
                v = v.max(zero);
            }
            v.intoArray(y, out + q);
        }
        for (int q = limit; q < width; q++) {
            y[out + q] = epilogue(Math.fma(x[in + q] - cf[q], cf[coefStride + q], cf[2 * coefStride + q]), z, zin + q,
                    relu);
        }
    }

    /** The scalar tail's epilogue, as the vector lanes compute it (a NaN stays NaN through the max). */
    private static float epilogue(float v, float[] z, int at, boolean relu) {
        float w = z == null ? v : v + z[at];
        return relu ? Math.max(w, 0f) : w;
    }
}
