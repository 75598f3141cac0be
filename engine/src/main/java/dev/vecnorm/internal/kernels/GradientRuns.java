package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static dev.vecnorm.internal.kernels.Lanes.L;
import static jdk.incubator.vector.VectorOperators.D2F;
import static jdk.incubator.vector.VectorOperators.F2D;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The backward passes along runs, in memory order (batch outer, channels of the block inner) like
 * {@link ShiftedSums} and {@link AffineRuns}: the per-channel sums {@code sum(dy)} and
 * {@code sum(dy * (x - center))}, and the input gradient {@code dx = dy*dyScale - ((x - center)*centeredScale
 * + shift)}, computed as {@code dy*dyScale + (x*xFactor + constant)} (see {@link #constant}). Both compute in double lanes (widening is exact; the sums cancel, and dx is a difference of terms
 * that can be much larger than itself); a pass bound by memory doesn't notice. Sums keep their lanes per channel
 * between runs and add a channel's runs in a fixed order of the batch (pairs from its two halves), so the result
 * doesn't depend on the block size.
 */
final class GradientRuns {

    /** Per channel: two lanes of sum(dy), then two of sum(dy * (x - center)). */
    private static final int STATE = 4 * DL;

    private static final ThreadLocal<double[][]> SCRATCH = ThreadLocal.withInitial(() -> new double[1][0]);

    private GradientRuns() {
    }

    static boolean applies(int s) {
        return s >= L;
    }

    static void sums(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            float[] center, double[] sumDy, double[] sumDyCentered) {
        int channels = c1 - c0;
        double[][] scratch = SCRATCH.get();
        if (scratch[0].length < channels * STATE) {
            scratch[0] = new double[channels * STATE];
        }
        double[] lanes = scratch[0];
        java.util.Arrays.fill(lanes, 0, channels * STATE, 0.0);
        int row = c * s;
        // Two samples at a time, one from each half of the batch (halfRows: the order the sums across positions
        // take too), so that dy and x are read as four streams. Backward, fresh-JVM medians (Zen 5, 2026-12-05):
        // 32x256x56x56 18.5 -> 14.1 ms, 32x64x56x56 5.02 -> 4.07, 32x512x28x28 and 32x1024x14x14 within noise.
        // With n odd, the first half's last sample has no partner and goes alone, last.
        int half = halfRows(n);
        int apart = half * row;
        for (int i = 0; i < half; i++) {
            int g = dyOffset + i * row + c0 * s;
            int in = xOffset + i * row + c0 * s;
            for (int k = 0; k < channels; k++) {
                if (i < n - half) {
                    addTwoRuns(dy, g + k * s, x, in + k * s, apart, s, center[c0 + k], lanes, k * STATE);
                } else {
                    addRun(dy, g + k * s, x, in + k * s, s, center[c0 + k], lanes, k * STATE);
                }
            }
        }
        for (int k = 0; k < channels; k++) {
            int a = k * STATE;
            // Lanes summed in lane order, as the segment twin does, for the same bits.
            sumDy[c0 + k] = Lanes.sumInOrder(lanes, a);
            sumDyCentered[c0 + k] = Lanes.sumInOrder(lanes, a + 2 * DL);
        }
    }

    /**
     * The runs at {@code g} and {@code g + apart} (dy; x likewise) of one channel: each step adds the first run's
     * vectors to the channel's lanes, then the second's; the tails the same way, one masked step at a time.
     */
    private static void addTwoRuns(float[] dy, int g, float[] x, int in, int apart, int s, float center,
            double[] lanes, int a) {
        DoubleVector m = DoubleVector.broadcast(D, center);
        DoubleVector g0 = DoubleVector.fromArray(D, lanes, a);
        DoubleVector g1 = DoubleVector.fromArray(D, lanes, a + DL);
        DoubleVector h0 = DoubleVector.fromArray(D, lanes, a + 2 * DL);
        DoubleVector h1 = DoubleVector.fromArray(D, lanes, a + 3 * DL);
        int g2 = g + apart;
        int in2 = in + apart;
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j + DL).convertShape(F2D, D, 0);
            DoubleVector e0 = (DoubleVector) FloatVector.fromArray(FH, dy, g2 + j).convertShape(F2D, D, 0);
            DoubleVector e1 = (DoubleVector) FloatVector.fromArray(FH, dy, g2 + j + DL).convertShape(F2D, D, 0);
            DoubleVector xc0 = ((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + j + DL).convertShape(F2D, D, 0)).sub(m);
            DoubleVector yc0 = ((DoubleVector) FloatVector.fromArray(FH, x, in2 + j).convertShape(F2D, D, 0)).sub(m);
            DoubleVector yc1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in2 + j + DL).convertShape(F2D, D, 0)).sub(m);
            g0 = g0.add(d0).add(e0);
            g1 = g1.add(d1).add(e1);
            h0 = e0.fma(yc0, d0.fma(xc0, h0));
            h1 = e1.fma(yc1, d1.fma(xc1, h1));
        }
        for (int j = limit; j < s; j += DL) {
            VectorMask<Float> k = FH.indexInRange(j, s);
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j, k).convertShape(F2D, D, 0);
            g0 = g0.add(d0);
            h0 = d0.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + j, k).convertShape(F2D, D, 0)).sub(m), h0);
            DoubleVector e0 = (DoubleVector) FloatVector.fromArray(FH, dy, g2 + j, k).convertShape(F2D, D, 0);
            g0 = g0.add(e0);
            h0 = e0.fma(((DoubleVector) FloatVector.fromArray(FH, x, in2 + j, k).convertShape(F2D, D, 0)).sub(m), h0);
        }
        g0.intoArray(lanes, a);
        g1.intoArray(lanes, a + DL);
        h0.intoArray(lanes, a + 2 * DL);
        h1.intoArray(lanes, a + 3 * DL);
    }

    private static void addRun(float[] dy, int g, float[] x, int in, int s, float center, double[] lanes, int a) {
        DoubleVector m = DoubleVector.broadcast(D, center);
        DoubleVector g0 = DoubleVector.fromArray(D, lanes, a);
        DoubleVector g1 = DoubleVector.fromArray(D, lanes, a + DL);
        DoubleVector h0 = DoubleVector.fromArray(D, lanes, a + 2 * DL);
        DoubleVector h1 = DoubleVector.fromArray(D, lanes, a + 3 * DL);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j + DL).convertShape(F2D, D, 0);
            g0 = g0.add(d0);
            g1 = g1.add(d1);
            h0 = d0.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).sub(m), h0);
            h1 = d1.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + j + DL).convertShape(F2D, D, 0)).sub(m), h1);
        }
        for (int j = limit; j < s; j += DL) {
            // Inactive lanes load dy = 0, and 0 * (0 - center) adds nothing.
            VectorMask<Float> k = FH.indexInRange(j, s);
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + j, k).convertShape(F2D, D, 0);
            g0 = g0.add(d0);
            h0 = d0.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + j, k).convertShape(F2D, D, 0)).sub(m), h0);
        }
        g0.intoArray(lanes, a);
        g1.intoArray(lanes, a + DL);
        h0.intoArray(lanes, a + 2 * DL);
        h1.intoArray(lanes, a + 3 * DL);
    }

    static void input(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset, int n, int c,
            int s, int c0, int c1, float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        int row = c * s;
        int first = 0;
        if (s < SAMPLE_ROWS_BELOW && DL >= SAMPLE_ROWS_MIN_DOUBLE_LANES) {
            int half = n / 2;
            for (int i = 0; i < half; i++) {
                int at = i * row + c0 * s;
                inputTwoSampleRows(dy, dyOffset + at, x, xOffset + at, dx, dxOffset + at, half * row, s, c0, c1,
                        center, dyScale, centeredScale, shift);
            }
            first = 2 * half;
        }
        for (int i = first; i < n; i++) {
            int at = i * row;
            for (int ch = c0; ch < c1; ch++) {
                int run = at + ch * s;
                inputRun(dy, dyOffset + run, x, xOffset + run, dx, dxOffset + run, s, center[ch], dyScale[ch],
                        centeredScale[ch], shift[ch]);
            }
        }
    }

    /**
     * Runs shorter than this go as {@link #inputTwoSampleRows}; longer runs one at a time (two runs at a time from
     * the halves measured within noise there). Backward, fresh-JVM medians (Zen 5, 2026-12-05): 32x2048x7x7 2.55
     * -> 2.23 ms; 32x1024x14x14, 32x512x28x28 and 32x128x28x28 within noise (bound by memory).
     */
    static final int SAMPLE_ROWS_BELOW = 1024;

    /**
     * The sample rows need double lane masks (indexInRange, blend), which C2 does not intrinsify for two double
     * lanes (128-bit vectors, JDK 25 on x86): there every boundary vector allocated its masks and boxed its
     * vectors (SteadyStateAllocationTest: 47 MB per backward call on 256x512x4x4; -XX:+PrintIntrinsics shows
     * VectorSupport::blend and ::compare "failed to inline (intrinsic)"). Narrower vectors go one run at a time.
     */
    static final int SAMPLE_ROWS_MIN_DOUBLE_LANES = 4;

    /**
     * dx of the block's channels of two samples {@code apart} (from the two halves of the batch), each walked as one
     * contiguous row of vectors: no restart or scalar tail per run. Both rows share their channel layout, so each
     * vector's coefficients serve both; the vector holding a channel's end takes each lane's coefficients from its
     * own channel by mask (runs are at least a vector long: at most one boundary per vector). Per element the same
     * operations and bits as {@link #inputRun}.
     */
    private static void inputTwoSampleRows(float[] dy, int g, float[] x, int in, float[] dx, int out, int apart,
            int s, int c0, int c1, float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        int width = (c1 - c0) * s;
        int limit = width - width % L;
        int ch = c0;
        int end = s;
        DoubleVector va = DoubleVector.broadcast(D, dyScale[ch]);
        DoubleVector vb = DoubleVector.broadcast(D, -centeredScale[ch]);
        DoubleVector ve = DoubleVector.broadcast(D, constant(center[ch], centeredScale[ch], shift[ch]));
        int g2 = g + apart;
        int in2 = in + apart;
        int out2 = out + apart;
        for (int q = 0; q < limit; q += L) {
            DoubleVector alo = va;
            DoubleVector blo = vb;
            DoubleVector elo = ve;
            DoubleVector ahi = va;
            DoubleVector bhi = vb;
            DoubleVector ehi = ve;
            if (q + L >= end && q + L < width) {
                VectorMask<Double> lo = D.indexInRange(q, end);
                VectorMask<Double> hi = D.indexInRange(q + DL, end);
                ch++;
                end += s;
                va = DoubleVector.broadcast(D, dyScale[ch]);
                vb = DoubleVector.broadcast(D, -centeredScale[ch]);
                ve = DoubleVector.broadcast(D, constant(center[ch], centeredScale[ch], shift[ch]));
                alo = va.blend(alo, lo);
                blo = vb.blend(blo, lo);
                elo = ve.blend(elo, lo);
                ahi = va.blend(ahi, hi);
                bhi = vb.blend(bhi, hi);
                ehi = ve.blend(ehi, hi);
            }
            DoubleVector x0 = (DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0);
            DoubleVector x1 = (DoubleVector) FloatVector.fromArray(FH, x, in + q + DL).convertShape(F2D, D, 0);
            DoubleVector y0 = (DoubleVector) FloatVector.fromArray(FH, x, in2 + q).convertShape(F2D, D, 0);
            DoubleVector y1 = (DoubleVector) FloatVector.fromArray(FH, x, in2 + q + DL).convertShape(F2D, D, 0);
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + q + DL).convertShape(F2D, D, 0);
            DoubleVector f0 = (DoubleVector) FloatVector.fromArray(FH, dy, g2 + q).convertShape(F2D, D, 0);
            DoubleVector f1 = (DoubleVector) FloatVector.fromArray(FH, dy, g2 + q + DL).convertShape(F2D, D, 0);
            ((FloatVector) d0.fma(alo, x0.fma(blo, elo)).convertShape(D2F, FH, 0)).intoArray(dx, out + q);
            ((FloatVector) d1.fma(ahi, x1.fma(bhi, ehi)).convertShape(D2F, FH, 0)).intoArray(dx, out + q + DL);
            ((FloatVector) f0.fma(alo, y0.fma(blo, elo)).convertShape(D2F, FH, 0)).intoArray(dx, out2 + q);
            ((FloatVector) f1.fma(ahi, y1.fma(bhi, ehi)).convertShape(D2F, FH, 0)).intoArray(dx, out2 + q + DL);
        }
        // The last channel's tail (under a vector; the same scalar operations as inputRun's tail).
        double a = dyScale[ch];
        double xFactor = -centeredScale[ch];
        double constant = constant(center[ch], centeredScale[ch], shift[ch]);
        for (int q = limit; q < width; q++) {
            dx[out + q] = (float) Math.fma(dy[g + q], a, Math.fma(x[in + q], xFactor, constant));
            dx[out2 + q] = (float) Math.fma(dy[g2 + q], a, Math.fma(x[in2 + q], xFactor, constant));
        }
    }

    private static void inputRun(float[] dy, int g, float[] x, int in, float[] dx, int out, int s, float center,
            double dyScale, double centeredScale, double shift) {
        double xFactor = -centeredScale;
        double constant = constant(center, centeredScale, shift);
        DoubleVector a = DoubleVector.broadcast(D, dyScale);
        DoubleVector b = DoubleVector.broadcast(D, xFactor);
        DoubleVector e = DoubleVector.broadcast(D, constant);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector t0 = ((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).fma(b, e);
            DoubleVector t1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + j + DL).convertShape(F2D, D, 0)).fma(b, e);
            ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + j).convertShape(F2D, D, 0)).fma(a, t0)
                    .convertShape(D2F, FH, 0)).intoArray(dx, out + j);
            ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + j + DL).convertShape(F2D, D, 0))
                    .fma(a, t1).convertShape(D2F, FH, 0)).intoArray(dx, out + j + DL);
        }
        // The tail (under one float vector) in scalar doubles, the same operations and bits as a vector lane
        // (the segment twin's masked step): a masked step costs more than a few scalar ones.
        for (int j = limit; j < s; j++) {
            dx[out + j] = (float) Math.fma(dy[g + j], dyScale, Math.fma(x[in + j], xFactor, constant));
        }
    }

    /**
     * dx's constant when x is not centered first: {@code dy*dyScale - ((x - center)*centeredScale + shift)} =
     * {@code dy*dyScale + (x*(-centeredScale) + constant)} with {@code constant = center*centeredScale - shift}
     * rounded once. Two fmas instead of sub, mul, fma, sub: 256x1024's dx pass (positions with per-position
     * coefficients, one array fewer to read) 114 -> 85 us in a scratch copy, best of 40 interleaved rounds,
     * 2026-12-04. The rounding of the constant is 2^-53 of center*centeredScale, which is about (offset/std)
     * times dx's scale: below the float result's rounding for any offset float data can resolve (a channel whose
     * spread is below float resolution has zero centeredScale).
     */
    static double constant(float center, double centeredScale, double shift) {
        return Math.fma(center, centeredScale, -shift);
    }


    /**
     * The sums for short runs (rank 2, channels-last, and runs of a few vectors: {@link ShortRuns}), in blocks of
     * positions: rows stream in memory order while every position keeps its two sums in double arrays (L1/L2),
     * then positions add into their channels in position order; the segment twin runs the same blocks and rows
     * through {@link #blockWork} and {@link #storeBlockSums}, so both give the same bits. (Columns of lanes walked
     * down the rows read each row with a stride: 1.6x slower on channels-last 32x56x56x256.)
     */
    static void sumsAcrossPositions(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        int perBlock = ShortRuns.channelsPerBlock(s);
        for (int b0 = c0; b0 < c1; b0 += perBlock) {
            sumsAcrossBlock(dy, dyOffset, x, xOffset, n, c, s, b0, Math.min(c1, b0 + perBlock), center, sumDy,
                    sumDyCentered);
        }
    }

    /** {@link #sumsAcrossPositions} of one block of channels [c0, c1). */
    private static void sumsAcrossBlock(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        int width = (c1 - c0) * s;
        int stride = workStride(width);
        double[] work = blockWork(center, c0, c1, s);
        int row = c * s;
        int g = dyOffset + c0 * s;
        int in = xOffset + c0 * s;
        if (Pages.fourRowsApart(row)) {
            // Four adjacent rows per load and store of the sums when rows are a page apart (Pages): backward,
            // channels-last 32x7x7x2048 5.3 -> 3.7 ms, 32x14x14x1024 10.1-10.4 -> 7.6-8.1 ms, 256x1024 0.17-0.29
            // -> 0.16-0.17 ms. Two rows from the halves measured slower here (sums of 32x7x7x2048 0.85 -> 1.3 ms).
            int i = 0;
            for (; i + 4 <= n; i += 4) {
                addFourRows(dy, g + i * row, x, in + i * row, row, width, stride, work);
            }
            for (; i < n; i++) {
                addRow(dy, g + i * row, x, in + i * row, width, stride, work);
            }
        } else if (width == ShortRuns.REGISTER_ROW_POSITIONS) {
            // After the page test, so that a channel's sums never depend on the width of its block.
            registerRows(dy, g, x, in, row, n, stride, work);
        } else {
            // Narrower rows: two per load and store of the sums, one from each half of the block (halfRows), so
            // that they never share a page. Adjacent rows (two or four) ran the sums of channels-last 32x56x56x256
            // 2x slower than one row at a time; from the halves 9.8-10.2 -> 6.6-6.7 ms (whole backward 21.2-22.6
            // -> 18.4-18.6), about the speed of a plain read of both tensors; four from the quarters 8.3-8.6.
            int half = halfRows(n);
            for (int k = 0; k < n - half; k++) {
                addTwoRows(dy, g + k * row, x, in + k * row, half * row, width, stride, work);
            }
            if (n % 2 != 0) {
                addRow(dy, g + (half - 1) * row, x, in + (half - 1) * row, width, stride, work);
            }
        }
        storeBlockSums(work, c0, c1, s, sumDy, sumDyCentered);
    }

    /**
     * The first half of n rows, rounded up: rows under a page wide add in the order 0, half, 1, half + 1, ...,
     * ending with row half - 1 when n is odd (the t-th row added is {@link #rowInHalvesOrder}).
     */
    static int halfRows(int n) {
        return (n + 1) / 2;
    }

    /** The row added t-th among n rows taken from the two halves (see {@link #halfRows}). */
    static int rowInHalvesOrder(int t, int half) {
        return (t >> 1) + (t & 1) * half;
    }

    /** The distance between the rows of a {@link #blockWork} of {@code width} positions (StaggeredRows). */
    static int workStride(int width) {
        return StaggeredRows.stride(width, Double.BYTES);
    }

    /**
     * This thread's work array for a block of channels [c0, c1) of runs of s (width = (c1 - c0) * s positions),
     * three rows {@link #workStride} apart: each position's channel center, its sum(dy), and its
     * sum(dy * (x - center)), the sums zeroed. Shared with the segment twin, which fills the sums the same way.
     */
    static double[] blockWork(float[] center, int c0, int c1, int s) {
        int width = (c1 - c0) * s;
        int stride = workStride(width);
        double[][] scratch = SCRATCH.get();
        if (scratch[0].length < 2 * stride + width) {
            scratch[0] = new double[2 * stride + width];
        }
        double[] work = scratch[0];
        for (int k = 0; k < c1 - c0; k++) {
            java.util.Arrays.fill(work, k * s, (k + 1) * s, center[c0 + k]);
        }
        java.util.Arrays.fill(work, stride, stride + width, 0.0);
        java.util.Arrays.fill(work, 2 * stride, 2 * stride + width, 0.0);
        return work;
    }

    /** Adds each channel's position sums of a {@link #blockWork} in position order into its two sums. */
    static void storeBlockSums(double[] work, int c0, int c1, int s, double[] sumDy, double[] sumDyCentered) {
        int stride = workStride((c1 - c0) * s);
        for (int k = 0; k < c1 - c0; k++) {
            double plain = 0;
            double centered = 0;
            for (int j = k * s; j < (k + 1) * s; j++) {
                plain += work[stride + j];
                centered += work[2 * stride + j];
            }
            sumDy[c0 + k] = plain;
            sumDyCentered[c0 + k] = centered;
        }
    }

    /**
     * Rows of exactly four float vectors of positions (64 channels channels-last at 512 bits): the centers and
     * both sums stay in registers while the rows stream by, added in the halves order of the other widths (the bits
     * of addTwoRows and addRow, which the segment twin's loops repeat). In chunks of {@value #REGISTER_CHUNK_ROWS}
     * rows, each half of the positions at a time (twelve vectors), the second half reading the chunk from L1
     * (16 KB from each half of the block): the whole row's 24 vectors and 16
     * widenings in one loop outgrew C2's inlining budget (NodeCountInliningCutoff), and the boxed vectors ran the
     * backward of channels-last 32x64x56x56 3.4x slower. Chunked halves: 5.44 -> 4.93 ms (median of per-JVM
     * bests, three fresh JVMs each, 2026-12-04).
     */
    private static void registerRows(float[] dy, int g, float[] x, int in, int row, int n, int stride,
            double[] work) {
        int half = halfRows(n);
        for (int t = 0; t < n; t += REGISTER_CHUNK_ROWS) {
            int rows = Math.min(REGISTER_CHUNK_ROWS, n - t);
            registerHalfRows(dy, g, x, in, row, t, rows, half, stride, work, 0);
            registerHalfRows(dy, g + 2 * L, x, in + 2 * L, row, t, rows, half, stride, work, 2 * L);
        }
    }

    /** Rows per chunk of the register forms: 32 rows of 64 floats of dy and x, 16 KB, stay in L1. */
    static final int REGISTER_CHUNK_ROWS = 32;

    /**
     * Positions [at, at + 2L) of the rows added t0-th to (t0 + rows - 1)-th in the halves order of the other
     * widths (the same bits): 12 vectors in registers.
     */
    private static void registerHalfRows(float[] dy, int g, float[] x, int in, int row, int t0, int rows, int half,
            int stride, double[] work, int at) {
        int p = stride + at;
        int q = 2 * stride + at;
        DoubleVector m0 = DoubleVector.fromArray(D, work, at);
        DoubleVector m1 = DoubleVector.fromArray(D, work, at + DL);
        DoubleVector m2 = DoubleVector.fromArray(D, work, at + 2 * DL);
        DoubleVector m3 = DoubleVector.fromArray(D, work, at + 3 * DL);
        DoubleVector s0 = DoubleVector.fromArray(D, work, p);
        DoubleVector s1 = DoubleVector.fromArray(D, work, p + DL);
        DoubleVector s2 = DoubleVector.fromArray(D, work, p + 2 * DL);
        DoubleVector s3 = DoubleVector.fromArray(D, work, p + 3 * DL);
        DoubleVector q0 = DoubleVector.fromArray(D, work, q);
        DoubleVector q1 = DoubleVector.fromArray(D, work, q + DL);
        DoubleVector q2 = DoubleVector.fromArray(D, work, q + 2 * DL);
        DoubleVector q3 = DoubleVector.fromArray(D, work, q + 3 * DL);
        for (int t = t0; t < t0 + rows; t++) {
            int r = rowInHalvesOrder(t, half) * row;
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + r).convertShape(F2D, D, 0);
            s0 = s0.add(d0);
            q0 = d0.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + r).convertShape(F2D, D, 0)).sub(m0), q0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + r + DL).convertShape(F2D, D, 0);
            s1 = s1.add(d1);
            q1 = d1.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + r + DL).convertShape(F2D, D, 0)).sub(m1), q1);
            DoubleVector d2 = (DoubleVector) FloatVector.fromArray(FH, dy, g + r + 2 * DL).convertShape(F2D, D, 0);
            s2 = s2.add(d2);
            q2 = d2.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + r + 2 * DL).convertShape(F2D, D, 0))
                    .sub(m2), q2);
            DoubleVector d3 = (DoubleVector) FloatVector.fromArray(FH, dy, g + r + 3 * DL).convertShape(F2D, D, 0);
            s3 = s3.add(d3);
            q3 = d3.fma(((DoubleVector) FloatVector.fromArray(FH, x, in + r + 3 * DL).convertShape(F2D, D, 0))
                    .sub(m3), q3);
        }
        s0.intoArray(work, p);
        s1.intoArray(work, p + DL);
        s2.intoArray(work, p + 2 * DL);
        s3.intoArray(work, p + 3 * DL);
        q0.intoArray(work, q);
        q1.intoArray(work, q + DL);
        q2.intoArray(work, q + 2 * DL);
        q3.intoArray(work, q + 3 * DL);
    }

    /**
     * Four consecutive rows, each position's in row order (the bits of four addRow calls): the sums are loaded
     * and stored once per four rows, as the statistics kernel does.
     */
    private static void addFourRows(float[] dy, int g, float[] x, int in, int row, int width, int stride,
            double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            DoubleVector m = DoubleVector.fromArray(D, work, q);
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + row + q).convertShape(F2D, D, 0);
            DoubleVector d2 = (DoubleVector) FloatVector.fromArray(FH, dy, g + 2 * row + q).convertShape(F2D, D, 0);
            DoubleVector d3 = (DoubleVector) FloatVector.fromArray(FH, dy, g + 3 * row + q).convertShape(F2D, D, 0);
            DoubleVector xc0 = ((DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + row + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc2 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + 2 * row + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc3 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + 3 * row + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector.fromArray(D, work, stride + q).add(d0).add(d1).add(d2).add(d3)
                    .intoArray(work, stride + q);
            d3.fma(xc3, d2.fma(xc2, d1.fma(xc1, d0.fma(xc0, DoubleVector.fromArray(D, work, 2 * stride + q)))))
                    .intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 4, row, limit, width, stride, work);
    }

    /** Rows {@code apart} floats apart, the first then the second for each position (two addRow calls' bits). */
    private static void addTwoRows(float[] dy, int g, float[] x, int in, int apart, int width, int stride,
            double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            DoubleVector m = DoubleVector.fromArray(D, work, q);
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g + apart + q).convertShape(F2D, D, 0);
            DoubleVector xc0 = ((DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + apart + q).convertShape(F2D, D, 0)).sub(m);
            DoubleVector.fromArray(D, work, stride + q).add(d0).add(d1).intoArray(work, stride + q);
            d1.fma(xc1, d0.fma(xc0, DoubleVector.fromArray(D, work, 2 * stride + q))).intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 2, apart, limit, width, stride, work);
    }

    private static void addRow(float[] dy, int g, float[] x, int in, int width, int stride, double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            DoubleVector d = (DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0);
            DoubleVector xc = ((DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, work, q));
            DoubleVector.fromArray(D, work, stride + q).add(d).intoArray(work, stride + q);
            d.fma(xc, DoubleVector.fromArray(D, work, 2 * stride + q)).intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 1, 0, limit, width, stride, work);
    }

    /** Positions [limit, width) of {@code rows} rows {@code apart} apart, row after row, in scalar doubles. */
    private static void addTails(float[] dy, int g, float[] x, int in, int rows, int apart, int limit, int width,
            int stride, double[] work) {
        for (int r = 0; r < rows; r++) {
            for (int q = limit; q < width; q++) {
                double d = dy[g + r * apart + q];
                work[stride + q] += d;
                work[2 * stride + q] = Math.fma(d, x[in + r * apart + q] - work[q], work[2 * stride + q]);
            }
        }
    }

    /**
     * dx across positions (short runs): lanes hold positions, with per-position coefficients; in double, since dx
     * is a difference of terms much larger than itself when dy is nearly explained by the mean and xhat.
     */
    static void inputAcrossPositions(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx,
            int dxOffset, int n, int c, int s, int c0, int c1, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        int p0 = c0 * s;
        int width = (c1 - c0) * s;
        int row = c * s;
        int coefStride = PositionScratch.dxStride(width);
        double[] cf = PositionScratch.dxCoefficients(center, dyScale, centeredScale, shift, c0, c1, s);
        int bound = FH.loopBound(width);
        int i = 0;
        if (width >= TWO_ROW_WIDTH) {
            for (; i + 2 <= n; i += 2) {
                twoRows(dy, dyOffset + i * row + p0, x, xOffset + i * row + p0, dx, dxOffset + i * row + p0, row,
                        width, cf, coefStride);
            }
        }
        for (; i < n; i++) {
            int g = dyOffset + i * row + p0;
            int in = xOffset + i * row + p0;
            int out = dxOffset + i * row + p0;
            int q = 0;
            // Unmasked body, masked tail: a mask on every step measured 2x slower on 256x1024.
            for (; q < bound; q += DL) {
                DoubleVector t = ((DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, coefStride + q),
                                DoubleVector.fromArray(D, cf, 2 * coefStride + q));
                ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, q), t).convertShape(D2F, FH, 0))
                        .intoArray(dx, out + q);
            }
            if (q < width) {
                VectorMask<Float> k = FH.indexInRange(q, width);
                VectorMask<Double> kd = D.indexInRange(q, width);
                DoubleVector t = ((DoubleVector) FloatVector.fromArray(FH, x, in + q, k).convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, coefStride + q, kd),
                                DoubleVector.fromArray(D, cf, 2 * coefStride + q, kd));
                ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + q, k).convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, q, kd), t).convertShape(D2F, FH, 0))
                        .intoArray(dx, out + q, k);
            }
        }
    }

    /**
     * Rows of at least this many positions take {@link #twoRows}: their three double coefficient rows (24 KiB
     * and up) no longer stay in L1 beside dy, x and dx. Measured on Zen 5, best of 30 interleaved rounds:
     * 1568x2048 2.57 -> 1.79 ms, 12544x2048 21.2 -> 14.9 ms, 256x4096 0.58 -> 0.43 ms, 6272x1024 4.56 ->
     * 3.59 ms; at 512 positions two rows were slower from DRAM (25088x512 7.4 -> 12.9 ms), four rows no better
     * than one at 2048.
     */
    static final int TWO_ROW_WIDTH = 1024;

    /** Two rows {@code stride} apart of the loop above, each coefficient vector loaded once: the same bits. */
    private static void twoRows(float[] dy, int g, float[] x, int in, float[] dx, int out, int stride, int width,
            double[] cf, int coefStride) {
        int bound = FH.loopBound(width);
        int q = 0;
        for (; q < bound; q += DL) {
            DoubleVector a = DoubleVector.fromArray(D, cf, q);
            DoubleVector b = DoubleVector.fromArray(D, cf, coefStride + q);
            DoubleVector e = DoubleVector.fromArray(D, cf, 2 * coefStride + q);
            DoubleVector t0 = ((DoubleVector) FloatVector.fromArray(FH, x, in + q).convertShape(F2D, D, 0)).fma(b, e);
            DoubleVector t1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + stride + q).convertShape(F2D, D, 0)).fma(b, e);
            ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + q).convertShape(F2D, D, 0)).fma(a, t0)
                    .convertShape(D2F, FH, 0)).intoArray(dx, out + q);
            ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + stride + q).convertShape(F2D, D, 0))
                    .fma(a, t1).convertShape(D2F, FH, 0)).intoArray(dx, out + stride + q);
        }
        if (q < width) {
            VectorMask<Float> k = FH.indexInRange(q, width);
            VectorMask<Double> kd = D.indexInRange(q, width);
            DoubleVector a = DoubleVector.fromArray(D, cf, q, kd);
            DoubleVector b = DoubleVector.fromArray(D, cf, coefStride + q, kd);
            DoubleVector e = DoubleVector.fromArray(D, cf, 2 * coefStride + q, kd);
            for (int r = 0; r < 2; r++) {
                int at = r * stride;
                DoubleVector t =
                        ((DoubleVector) FloatVector.fromArray(FH, x, in + at + q, k).convertShape(F2D, D, 0)).fma(b, e);
                ((FloatVector) ((DoubleVector) FloatVector.fromArray(FH, dy, g + at + q, k).convertShape(F2D, D, 0))
                        .fma(a, t).convertShape(D2F, FH, 0)).intoArray(dx, out + at + q, k);
            }
        }
    }
}
