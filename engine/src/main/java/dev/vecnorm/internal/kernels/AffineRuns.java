package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.F;
import static dev.vecnorm.internal.kernels.Lanes.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The per-channel affine map along runs, {@code y = (x - centerHi) * scale + (shift - centerLo * scale)}, as four
 * streams: four runs at a time from the quarters of the block's runs (long runs), or four samples' rows of
 * channels from the quarters of the batch (short runs); the rest in memory order.
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
     * per-position coefficients loaded once for four rows, one from each quarter of the block ({@link #fourRows}).
     */
    static void acrossPositions(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int width = (c1 - c0) * s;
        int coefStride = coefficientStride(width);
        float[] p = positionCoefficients(c0, c1, s, centerHi, centerLo, scale, shift);
        int row = c * s;
        int quarter = n / 4;
        for (int i = 0; i < quarter; i++) {
            fourRows(x, xOffset + i * row + c0 * s, y, yOffset + i * row + c0 * s, quarter * row, width, p,
                    coefStride);
        }
        for (int i = 4 * quarter; i < n; i++) {
            row(x, xOffset + i * row + c0 * s, y, yOffset + i * row + c0 * s, width, p, coefStride);
        }
    }

    /**
     * {@link #row} on four rows {@code stride} apart (a quarter of the block), loading each coefficient vector once:
     * the same bits. All four x vectors are loaded before any y is stored. Why, measured on Zen 5 (scratch harness,
     * best of 15-300 calls, 2026-12-04): with the stores of one row between the loads of the next, every load sat
     * at the page offset of the store before it whenever x and y start at the same offset in a page (always for
     * tensors of a megabyte or more, which the JVM places region-aligned), and 1568 rows of 2048 (ResNet-50's last
     * stage, L3-resident) took 0.70-0.74 ms, or 1.15-1.18 ms with y 32 MiB after x (the slow runs of compare);
     * loads first, 0.55-0.61 ms and 0.77-0.82. Rows a quarter of the block apart instead of adjacent made the
     * placement irrelevant (0.54-0.60 ms for all), and from DRAM they are as fast as one row at a time where
     * adjacent rows lost (four streams sharing pages; 25088 rows of 512: 3.4-3.6 ms quarters, 3.4-3.9 one row,
     * 5.4-5.9 adjacent; 100352 rows of 256: 6.8-7.2, 6.8-8.3 and 17-18 ms; 12544 rows of 1024: 3.6-3.8, 3.8-4.2
     * and 4.2; 6272 rows of 2048: 3.5-3.6 quarters, 4.1 adjacent), so every width takes them.
     */
    private static void fourRows(float[] x, int in, float[] y, int out, int stride, int width, float[] cf,
            int coefStride) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            FloatVector x0 = FloatVector.fromArray(F, x, in + q);
            FloatVector x1 = FloatVector.fromArray(F, x, in + stride + q);
            FloatVector x2 = FloatVector.fromArray(F, x, in + 2 * stride + q);
            FloatVector x3 = FloatVector.fromArray(F, x, in + 3 * stride + q);
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, coefStride + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * coefStride + q);
            x0.sub(vc).fma(va, vb).intoArray(y, out + q);
            x1.sub(vc).fma(va, vb).intoArray(y, out + stride + q);
            x2.sub(vc).fma(va, vb).intoArray(y, out + 2 * stride + q);
            x3.sub(vc).fma(va, vb).intoArray(y, out + 3 * stride + q);
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

    /**
     * Runs of at least a vector: runs of a page or more (see {@link #FOUR_RUN_FLOATS}) four at a time, one from each
     * quarter of the block's runs (batch outer, channels inner), so that x and y are each read and written as four
     * streams ({@link #fourRuns}); shorter runs and those left over one at a time. Element-wise: the same bits in
     * any order.
     */
    static void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int row = c * s;
        int channels = c1 - c0;
        int runs = n * channels;
        int quarter = s >= FOUR_RUN_FLOATS ? runs / 4 : 0;
        int first = 4 * quarter;
        if (quarter > 0) {
            fourRuns(x, xOffset, y, yOffset, row, s, c0, c1, quarter, centerHi, centerLo, scale, shift);
        } else {
            first = sampleRows(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift, false)
                    * channels;
        }
        // The rest in memory order from run `first` (the samples left over when runs are short), by cursor: a
        // division per run cost short runs 5-6% (32x2048x7x7).
        int i = first / channels;
        for (int ch = c0 + first % channels; i < n; ch = c0, i++) {
            int at = i * row;
            for (; ch < c1; ch++) {
                float a = scale[ch];
                run(x, xOffset + at + ch * s, y, yOffset + at + ch * s, s, centerHi[ch], a,
                        foldedShift(shift[ch], centerLo[ch], a));
            }
        }
    }

    /**
     * Runs at least this long go four at a time. Inference, fresh-JVM medians (Zen 5, 2026-12-05): 32x256x56x56
     * (runs of 3136) 7.6-7.7 -> 6.7-6.9 ms, 32x64x56x56 1.76 -> 1.53, training 32x256x56x56 9.80 -> 9.27;
     * runs of 784 (28x28) within the noise; runs of 196 and 49 (tensors in or near L3) 1.88 -> 2.11 and 0.69 ->
     * 0.95 ms, where the per-run setup of four runs costs more than the extra streams give. Shorter runs go as
     * four sample rows ({@link #fourSampleRows}): against one run at a time, inference 32x1024x14x14 1.84 ->
     * 1.55 ms, 32x2048x7x7 0.70 -> 0.62, training 2.83 -> 2.47 and 1.31 -> 1.17, 32x512x28x28 training 4.99 ->
     * 4.69 (inference within noise).
     */
    static final int FOUR_RUN_FLOATS = 1024;

    /**
     * The first 4 * quarter runs of the block, runs t, t + quarter, t + 2 quarter and t + 3 quarter together, each
     * with its channel's coefficients, all four x vectors loaded before any y is stored (as {@link #fourRows}). A
     * single stream of x and y ran at 87% of the same-run floor on 32x256x56x56 inference; four streams of a plain
     * a*x + b beat one by 10-15% from DRAM (scratch harness, 25.7 M floats, Zen 5, 2026-12-05: 6.4-6.9 vs 7.5-8.5
     * ms). Each quarter's run advances by a cursor (channel, row start): a division per run made runs of 49
     * floats 47% slower.
     */
    private static void fourRuns(float[] x, int xOffset, float[] y, int yOffset, int row, int s, int c0, int c1,
            int quarter, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int channels = c1 - c0;
        int ch0 = c0;
        int ch1 = c0 + quarter % channels;
        int ch2 = c0 + 2 * quarter % channels;
        int ch3 = c0 + 3 * quarter % channels;
        int at0 = 0;
        int at1 = quarter / channels * row;
        int at2 = 2 * quarter / channels * row;
        int at3 = 3 * quarter / channels * row;
        int limit = s - s % L;
        int shiftOut = yOffset - xOffset;
        for (int t = 0; t < quarter; t++) {
            int in0 = xOffset + at0 + ch0 * s;
            int in1 = xOffset + at1 + ch1 * s;
            int in2 = xOffset + at2 + ch2 * s;
            int in3 = xOffset + at3 + ch3 * s;
            FloatVector vc0 = FloatVector.broadcast(F, centerHi[ch0]);
            FloatVector vc1 = FloatVector.broadcast(F, centerHi[ch1]);
            FloatVector vc2 = FloatVector.broadcast(F, centerHi[ch2]);
            FloatVector vc3 = FloatVector.broadcast(F, centerHi[ch3]);
            float a0 = scale[ch0];
            float a1 = scale[ch1];
            float a2 = scale[ch2];
            float a3 = scale[ch3];
            float b0 = foldedShift(shift[ch0], centerLo[ch0], a0);
            float b1 = foldedShift(shift[ch1], centerLo[ch1], a1);
            float b2 = foldedShift(shift[ch2], centerLo[ch2], a2);
            float b3 = foldedShift(shift[ch3], centerLo[ch3], a3);
            FloatVector va0 = FloatVector.broadcast(F, a0);
            FloatVector va1 = FloatVector.broadcast(F, a1);
            FloatVector va2 = FloatVector.broadcast(F, a2);
            FloatVector va3 = FloatVector.broadcast(F, a3);
            FloatVector vb0 = FloatVector.broadcast(F, b0);
            FloatVector vb1 = FloatVector.broadcast(F, b1);
            FloatVector vb2 = FloatVector.broadcast(F, b2);
            FloatVector vb3 = FloatVector.broadcast(F, b3);
            for (int j = 0; j < limit; j += L) {
                FloatVector x0 = FloatVector.fromArray(F, x, in0 + j);
                FloatVector x1 = FloatVector.fromArray(F, x, in1 + j);
                FloatVector x2 = FloatVector.fromArray(F, x, in2 + j);
                FloatVector x3 = FloatVector.fromArray(F, x, in3 + j);
                FloatVector y0 = x0.sub(vc0).fma(va0, vb0);
                FloatVector y1 = x1.sub(vc1).fma(va1, vb1);
                FloatVector y2 = x2.sub(vc2).fma(va2, vb2);
                FloatVector y3 = x3.sub(vc3).fma(va3, vb3);
                y0.intoArray(y, in0 + shiftOut + j);
                y1.intoArray(y, in1 + shiftOut + j);
                y2.intoArray(y, in2 + shiftOut + j);
                y3.intoArray(y, in3 + shiftOut + j);
            }
            for (int j = limit; j < s; j++) {
                y[in0 + shiftOut + j] = Math.fma(x[in0 + j] - centerHi[ch0], a0, b0);
                y[in1 + shiftOut + j] = Math.fma(x[in1 + j] - centerHi[ch1], a1, b1);
                y[in2 + shiftOut + j] = Math.fma(x[in2 + j] - centerHi[ch2], a2, b2);
                y[in3 + shiftOut + j] = Math.fma(x[in3 + j] - centerHi[ch3], a3, b3);
            }
            if (++ch0 == c1) {
                ch0 = c0;
                at0 += row;
            }
            if (++ch1 == c1) {
                ch1 = c0;
                at1 += row;
            }
            if (++ch2 == c1) {
                ch2 = c0;
                at2 += row;
            }
            if (++ch3 == c1) {
                ch3 = c0;
                at3 += row;
            }
        }
    }

    /**
     * The first 4 * (n / 4) samples of the block as {@link #fourSampleRows}, sample i with i + n/4, i + 2n/4 and
     * i + 3n/4; returns how many samples that was (the caller goes on from there one run at a time).
     */
    private static int sampleRows(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        int row = c * s;
        int samples = n / 4;
        for (int i = 0; i < samples; i++) {
            int at = i * row + c0 * s;
            fourSampleRows(x, xOffset + at, y, yOffset + at, samples * row, s, c0, c1, centerHi, centerLo, scale,
                    shift, relu);
        }
        return 4 * samples;
    }

    /**
     * Runs shorter than {@link #FOUR_RUN_FLOATS}: the block's channels of four samples, a quarter of the batch
     * apart, each walked as one contiguous row of vectors (they start where the sample's channels do, so a run
     * that is not a whole number of vectors costs no scalar tail and no misaligned restart). The four rows share
     * their channel layout, so each vector's coefficients serve all four; the one vector that holds the end of a
     * channel takes its lanes' coefficients from the two channels by mask (runs are at least a vector long, so a
     * vector meets at most one boundary). Per element the same operations and bits as {@link #run}, or
     * {@link #runRelu} with {@code relu} (a loop-invariant test, which C2 unswitches).
     */
    private static void fourSampleRows(float[] x, int in, float[] y, int out, int apart, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        int width = (c1 - c0) * s;
        int limit = width - width % L;
        int ch = c0;
        int end = s;
        float a = scale[ch];
        float b = foldedShift(shift[ch], centerLo[ch], a);
        FloatVector vc = FloatVector.broadcast(F, centerHi[ch]);
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int in1 = in + apart;
        int in2 = in1 + apart;
        int in3 = in2 + apart;
        int shiftOut = out - in;
        for (int q = 0; q < limit; q += L) {
            FloatVector uc = vc;
            FloatVector ua = va;
            FloatVector ub = vb;
            if (q + L >= end && q + L < width) {
                VectorMask<Float> current = F.indexInRange(q, end);
                ch++;
                end += s;
                a = scale[ch];
                b = foldedShift(shift[ch], centerLo[ch], a);
                vc = FloatVector.broadcast(F, centerHi[ch]);
                va = FloatVector.broadcast(F, a);
                vb = FloatVector.broadcast(F, b);
                // All lanes current when the channel ends with this vector: the blends then keep uc, ua, ub.
                uc = vc.blend(uc, current);
                ua = va.blend(ua, current);
                ub = vb.blend(ub, current);
            }
            FloatVector x0 = FloatVector.fromArray(F, x, in + q);
            FloatVector x1 = FloatVector.fromArray(F, x, in1 + q);
            FloatVector x2 = FloatVector.fromArray(F, x, in2 + q);
            FloatVector x3 = FloatVector.fromArray(F, x, in3 + q);
            FloatVector y0 = x0.sub(uc).fma(ua, ub);
            FloatVector y1 = x1.sub(uc).fma(ua, ub);
            FloatVector y2 = x2.sub(uc).fma(ua, ub);
            FloatVector y3 = x3.sub(uc).fma(ua, ub);
            if (relu) {
                FloatVector zero = FloatVector.zero(F);
                y0 = y0.max(zero);
                y1 = y1.max(zero);
                y2 = y2.max(zero);
                y3 = y3.max(zero);
            }
            y0.intoArray(y, in + shiftOut + q);
            y1.intoArray(y, in1 + shiftOut + q);
            y2.intoArray(y, in2 + shiftOut + q);
            y3.intoArray(y, in3 + shiftOut + q);
        }
        // The last channel's tail (under a vector; the same scalar fmas as run's tail).
        float center = centerHi[ch];
        for (int r = 0; r < 4; r++) {
            int from = in + r * apart;
            for (int q = limit; q < width; q++) {
                float v = Math.fma(x[from + q] - center, a, b);
                y[from + shiftOut + q] = relu ? Math.max(v, 0f) : v;
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
            // Runs of a page or more one at a time, also for the ReLU alone: four runs at a time with the ReLU
            // measured slower than this, which runs as fast as the plain map's four runs (32x256x56x56 inference
            // with ReLU, fresh-JVM medians: four runs 7.18 ms, one run 6.92; plain map 6.93). Shorter runs with the
            // ReLU alone as the plain map's four sample rows.
            int first = z == null && s < FOUR_RUN_FLOATS
                    ? sampleRows(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift, true)
                    : 0;
            for (int i = first; i < n; i++) {
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
        int quarter = n / 4;
        for (int i = 0; i < quarter; i++) {
            int at = i * row + c0 * s;
            fourRowsFused(x, xOffset + at, z, zOffset + at, y, yOffset + at, quarter * row, width, p, coefStride,
                    relu);
        }
        for (int i = 4 * quarter; i < n; i++) {
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
            FloatVector x0 = FloatVector.fromArray(F, x, in + q);
            FloatVector x1 = FloatVector.fromArray(F, x, in + stride + q);
            FloatVector x2 = FloatVector.fromArray(F, x, in + 2 * stride + q);
            FloatVector x3 = FloatVector.fromArray(F, x, in + 3 * stride + q);
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, coefStride + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * coefStride + q);
            FloatVector v0 = x0.sub(vc).fma(va, vb);
            FloatVector v1 = x1.sub(vc).fma(va, vb);
            FloatVector v2 = x2.sub(vc).fma(va, vb);
            FloatVector v3 = x3.sub(vc).fma(va, vb);
            if (z != null) {
                v0 = v0.add(FloatVector.fromArray(F, z, zin + q));
                v1 = v1.add(FloatVector.fromArray(F, z, zin + stride + q));
                v2 = v2.add(FloatVector.fromArray(F, z, zin + 2 * stride + q));
                v3 = v3.add(FloatVector.fromArray(F, z, zin + 3 * stride + q));
            }
            v0.max(floor).intoArray(y, out + q);
            v1.max(floor).intoArray(y, out + stride + q);
            v2.max(floor).intoArray(y, out + 2 * stride + q);
            v3.max(floor).intoArray(y, out + 3 * stride + q);
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
