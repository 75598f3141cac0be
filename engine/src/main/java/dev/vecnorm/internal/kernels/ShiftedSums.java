package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static dev.vecnorm.internal.kernels.Lanes.L;
import static jdk.incubator.vector.VectorOperators.F2D;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

/**
 * Channel statistics along runs (a channel is n contiguous runs of s floats), one pass in memory order.
 *
 * <p>Each channel keeps the sums of {@code x - p} and {@code (x - p)^2} in double lanes, where the shift p is the
 * channel's first value. The block's state (count, mean, M2) follows as {@code mean = p + S1/n},
 * {@code M2 = S2 - S1^2/n}: Welford's state of the whole block, without a division per element. Because p is one
 * of the data, {@code (mean - p)^2 <= n * var}, so the cancellation in M2 costs at most a relative
 * {@code n * 2^-53} of the variance (1e-9 at 10^7 values); doubles hold squares of any float (no under- or
 * overflow), so tiny, huge, sparse and constant channels need no special case. Slices of a channel are merged
 * with Chan's formula by the caller.
 *
 * <p>Loop order: batch index outer, channels of the block inner, so the block streams in memory order (the
 * hardware prefetchers see one stream, not n jumps per channel); each channel's lanes live in a small array
 * between its runs. A channel's sums are added in batch order whatever the block size, so the result does not
 * depend on the cache budget. Each loop is its own small method, so that C2 compiles each with its own profile
 * and the shapes one program runs (56x56 and 7x7 in one ResNet) can't spoil each other's inlining.
 */
final class ShiftedSums {

    /** Per channel: two lanes of sum(x - p), then two of sum((x - p)^2). */
    private static final int STATE = 4 * DL;

    private static final ThreadLocal<double[][]> SCRATCH = ThreadLocal.withInitial(() -> new double[2][0]);

    private ShiftedSums() {
    }

    /** Mean and biased variance of channels [c0, c1): along runs when runs are long, else across positions. */
    static void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1, double[] mean,
            double[] variance) {
        if (ShortRuns.alongRuns(n, s)) {
            alongRuns(x, xOffset, n, c, s, c0, c1, mean, variance);
            return;
        }
        int perBlock = ShortRuns.channelsPerBlock(s);
        for (int b0 = c0; b0 < c1; b0 += perBlock) {
            acrossPositions(x, xOffset, n, c, s, b0, Math.min(c1, b0 + perBlock), mean, variance);
        }
    }

    private static void alongRuns(float[] x, int xOffset, int n, int c, int s, int c0, int c1, double[] mean,
            double[] variance) {
        int channels = c1 - c0;
        double[][] scratch = SCRATCH.get();
        if (scratch[0].length < Math.max(channels, 1) * STATE) {
            scratch[0] = new double[Math.max(channels, 1) * STATE];
        }
        if (n == 1) {
            for (int ch = c0; ch < c1; ch++) {
                singleRun(x, xOffset, c, s, ch, scratch[0], mean, variance);
            }
            return;
        }
        if (scratch[1].length < channels) {
            scratch[1] = new double[channels];
        }
        double[] lanes = scratch[0];
        double[] shift = scratch[1];
        java.util.Arrays.fill(lanes, 0, channels * STATE, 0.0);
        for (int k = 0; k < channels; k++) {
            float first = x[xOffset + (c0 + k) * s];
            shift[k] = Float.isFinite(first) ? first : 0.0;
        }
        int row = c * s;
        // Four samples at a time, one from each quarter of the batch (four read streams, as across positions),
        // then the samples left over; each channel's runs go into its own lanes in that fixed order.
        int quarter = n / 4;
        for (int i = 0; i < quarter; i++) {
            int start = xOffset + i * row + c0 * s;
            for (int k = 0; k < channels; k++) {
                addFourRuns(x, start + k * s, quarter * row, s, shift[k], lanes, k * STATE);
            }
        }
        for (int i = 4 * quarter; i < n; i++) {
            int start = xOffset + i * row + c0 * s;
            for (int k = 0; k < channels; k++) {
                addRun(x, start + k * s, s, shift[k], lanes, k * STATE);
            }
        }
        double count = (double) n * s;
        for (int k = 0; k < channels; k++) {
            int a = k * STATE;
            double sum = 0;
            double squares = 0;
            // Lane order fixed: the same bits for any block size or thread count.
            for (int t = 0; t < 2 * DL; t++) {
                sum += lanes[a + t];
                squares += lanes[a + 2 * DL + t];
            }
            finish(x, xOffset, n, c, s, c0 + k, shift[k], sum, squares, count, mean, variance);
        }
    }

    /**
     * A channel that is one run (n = 1: LayerNorm's and RMSNorm's rows, GroupNorm's and InstanceNorm's groups):
     * the bits of {@link #addRun} into zeroed lanes and the sums in lane order, with the accumulators kept in
     * registers for the whole run instead of loaded and stored around it. The lanes only carry them to the
     * in-order sum. A twin of addRun's loop, kept for what the lane state, its fill and the scratch lookup cost
     * per run: LayerNorm 4096x768 statistics then normalize, row by row, 1.11 ms through alongRuns and 0.96 ms
     * with this loop (one JVM); 1.0-1.2 -> 0.77-1.0 ms with the row-by-row forward; 2048x4096 in blocks of 16
     * rows 4.7-5.3 -> 4.0-4.4 ms (scratch harness, fresh JVMs, Zen 5, 2026-12-04).
     */
    private static void singleRun(float[] x, int xOffset, int c, int s, int ch, double[] lanes, double[] mean,
            double[] variance) {
        int from = xOffset + ch * s;
        float first = x[from];
        double shift = Float.isFinite(first) ? first : 0.0;
        DoubleVector p = DoubleVector.broadcast(D, shift);
        DoubleVector sum0 = DoubleVector.zero(D);
        DoubleVector sum1 = sum0;
        DoubleVector sq0 = sum0;
        DoubleVector sq1 = sum0;
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector lo = ((DoubleVector) FloatVector.fromArray(FH, x, from + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from + j + DL).convertShape(F2D, D, 0)).sub(p);
            sum0 = sum0.add(lo);
            sum1 = sum1.add(hi);
            sq0 = lo.fma(lo, sq0);
            sq1 = hi.fma(hi, sq1);
        }
        double tailSum = 0;
        double tailSquares = 0;
        for (int j = limit; j < s; j++) {
            double d = x[from + j] - shift;
            tailSum += d;
            tailSquares += d * d;
        }
        sum0.intoArray(lanes, 0);
        sum1.intoArray(lanes, DL);
        sq0.intoArray(lanes, 2 * DL);
        sq1.intoArray(lanes, 3 * DL);
        lanes[0] += tailSum;
        lanes[2 * DL] += tailSquares;
        double sum = 0;
        double squares = 0;
        for (int t = 0; t < 2 * DL; t++) {
            sum += lanes[t];
            squares += lanes[2 * DL + t];
        }
        finish(x, xOffset, 1, c, s, ch, shift, sum, squares, s, mean, variance);
    }

    /** The block's Welford state from its shifted sums; NaN or infinite data goes to the reference. */
    private static void finish(float[] x, int xOffset, int n, int c, int s, int ch, double shift, double sum,
            double squares, double count, double[] mean, double[] variance) {
        double offset = sum / count;
        double m = shift + offset;
        double v = Math.max(0.0, squares - sum * offset) / count;
        if (Double.isFinite(m) && Double.isFinite(v)) {
            mean[ch] = m;
            variance[ch] = v;
        } else {
            // NaN or infinite data: the reference decides what such a channel's statistics are.
            ScalarBatchNormKernels.INSTANCE.moments(x, xOffset, n, c, s, ch, ch + 1, mean, variance);
        }
    }

    /**
     * {@link #addRun} of the four runs at {@code from}, {@code from + apart}, ... at once: at each step the first
     * run's vectors are added, then the second's, third's and fourth's; the tails likewise, into one scalar sum.
     */
    private static void addFourRuns(float[] x, int from, int apart, int s, double shift, double[] lanes, int a) {
        DoubleVector p = DoubleVector.broadcast(D, shift);
        DoubleVector sum0 = DoubleVector.fromArray(D, lanes, a);
        DoubleVector sum1 = DoubleVector.fromArray(D, lanes, a + DL);
        DoubleVector sq0 = DoubleVector.fromArray(D, lanes, a + 2 * DL);
        DoubleVector sq1 = DoubleVector.fromArray(D, lanes, a + 3 * DL);
        int from1 = from + apart;
        int from2 = from1 + apart;
        int from3 = from2 + apart;
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector lo0 = ((DoubleVector) FloatVector.fromArray(FH, x, from + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi0 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from + j + DL).convertShape(F2D, D, 0)).sub(p);
            DoubleVector lo1 = ((DoubleVector) FloatVector.fromArray(FH, x, from1 + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from1 + j + DL).convertShape(F2D, D, 0)).sub(p);
            DoubleVector lo2 = ((DoubleVector) FloatVector.fromArray(FH, x, from2 + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi2 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from2 + j + DL).convertShape(F2D, D, 0)).sub(p);
            DoubleVector lo3 = ((DoubleVector) FloatVector.fromArray(FH, x, from3 + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi3 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from3 + j + DL).convertShape(F2D, D, 0)).sub(p);
            sum0 = sum0.add(lo0).add(lo1).add(lo2).add(lo3);
            sum1 = sum1.add(hi0).add(hi1).add(hi2).add(hi3);
            sq0 = lo3.fma(lo3, lo2.fma(lo2, lo1.fma(lo1, lo0.fma(lo0, sq0))));
            sq1 = hi3.fma(hi3, hi2.fma(hi2, hi1.fma(hi1, hi0.fma(hi0, sq1))));
        }
        sum0.intoArray(lanes, a);
        sum1.intoArray(lanes, a + DL);
        sq0.intoArray(lanes, a + 2 * DL);
        sq1.intoArray(lanes, a + 3 * DL);
        addTails(x, from, apart, 4, limit, s, shift, lanes, a);
    }

    /**
     * Adds one run of s floats at {@code from} to the lanes at {@code a}. (Tried and measured on 2026-12-04: two
     * sets of accumulators, two vectors per step, for runs of 16 vectors or more. In L2 the statistics alone ran
     * 2x faster, but end to end they lost: InstanceNorm 8x64x128x128 forward 2.25 -> 2.6-2.8 ms, BatchNorm
     * 32x64x56x56 statistics then normalize 1.33 -> 1.60 ms, runs of 1024 and 65536 floats slower; not kept.)
     */
    private static void addRun(float[] x, int from, int s, double shift, double[] lanes, int a) {
        DoubleVector p = DoubleVector.broadcast(D, shift);
        DoubleVector sum0 = DoubleVector.fromArray(D, lanes, a);
        DoubleVector sum1 = DoubleVector.fromArray(D, lanes, a + DL);
        DoubleVector sq0 = DoubleVector.fromArray(D, lanes, a + 2 * DL);
        DoubleVector sq1 = DoubleVector.fromArray(D, lanes, a + 3 * DL);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector lo = ((DoubleVector) FloatVector.fromArray(FH, x, from + j).convertShape(F2D, D, 0)).sub(p);
            DoubleVector hi =
                    ((DoubleVector) FloatVector.fromArray(FH, x, from + j + DL).convertShape(F2D, D, 0)).sub(p);
            sum0 = sum0.add(lo);
            sum1 = sum1.add(hi);
            sq0 = lo.fma(lo, sq0);
            sq1 = hi.fma(hi, sq1);
        }
        sum0.intoArray(lanes, a);
        sum1.intoArray(lanes, a + DL);
        sq0.intoArray(lanes, a + 2 * DL);
        sq1.intoArray(lanes, a + 3 * DL);
        // The tail (under one float vector, possibly none) in scalar doubles: masked vector steps cost ~15 cycles
        // per run even for one element (measured: 32x2048x49x1 0.82 ms vs 0.54 ms at s = 48), and the tail is
        // short.
        addTails(x, from, 0, 1, limit, s, shift, lanes, a);
    }

    /**
     * The tails [limit, s) of {@code runs} runs {@code apart} from {@code from}, summed in scalar doubles in run
     * order, then added to the first lane of the sums and of the squares (the order addRun and addFourRuns have
     * always used).
     */
    private static void addTails(float[] x, int from, int apart, int runs, int limit, int s, double shift,
            double[] lanes, int a) {
        double tailSum = 0;
        double tailSquares = 0;
        for (int r = 0; r < runs; r++) {
            int run = from + r * apart;
            for (int j = limit; j < s; j++) {
                double d = x[run + j] - shift;
                tailSum += d;
                tailSquares += d * d;
            }
        }
        lanes[a] += tailSum;
        lanes[a + 2 * DL] += tailSquares;
    }

    /**
     * Short runs (rank 2 and channels-last have s = 1; see {@link ShortRuns}): each batch row of the block is
     * contiguous, so the rows
     * stream in memory order while every position (channel, spatial) keeps its sums in double arrays that stay
     * in L1/L2. (Walking columns of lanes down the rows instead kept the sums in registers but read each row
     * with a stride: 2x slower on channels-last 32x56x56x256, where the rows outgrow L2.) Four rows at a time,
     * one from each quarter of the block, load and store the sums once for four rows, unrolled by hand: the same
     * with a loop over the rows ran slower (training 9.7 -> 14 ms). The shift is the channel's first value,
     * shared by its positions, so their sums add directly.
     */
    private static void acrossPositions(float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            double[] mean, double[] variance) {
        int channels = c1 - c0;
        int width = channels * s;
        double[][] scratch = SCRATCH.get();
        int stride = StaggeredRows.stride(width, Double.BYTES);
        if (scratch[0].length < 2 * stride + width) {
            scratch[0] = new double[2 * stride + width];
        }
        double[] work = scratch[0];
        // work: three rows stride apart (StaggeredRows): shift per position, sums, squares.
        for (int k = 0; k < channels; k++) {
            float first = x[xOffset + (c0 + k) * s];
            double shift = Float.isFinite(first) ? first : 0.0;
            java.util.Arrays.fill(work, k * s, (k + 1) * s, shift);
        }
        java.util.Arrays.fill(work, stride, stride + width, 0.0);
        java.util.Arrays.fill(work, 2 * stride, 2 * stride + width, 0.0);
        int row = c * s;
        int from = xOffset + c0 * s;
        if (width == ShortRuns.REGISTER_ROW_POSITIONS) {
            registerRows(x, from, row, n, stride, work);
        } else {
            // Rows a quarter of the block apart, at every width, in cache or not. Adjacent rows shared pages, four
            // streams touching each page's lines out of order, and lost from memory below a page (so narrow rows
            // went one at a time): channels-last training, fresh-JVM medians (Zen 5, 2026-12-04), 32x56x56x256
            // 15.1 -> 11.0 ms, 32x128x28x28 1.37 -> 1.07, 32x512x28x28 6.2 -> 5.7, GroupNorm 8x256x64x64 4.6 ->
            // 3.3; 32x2048x7x7 and 256x1024 unchanged. The sums add the rows in another order than before.
            int quarter = n / 4;
            for (int k = 0; k < quarter; k++) {
                addFourRows(x, from + k * row, quarter * row, width, stride, work);
            }
            for (int i = 4 * quarter; i < n; i++) {
                addRow(x, from + i * row, width, stride, work);
            }
        }
        double count = (double) n * s;
        for (int k = 0; k < channels; k++) {
            double sum = 0;
            double squares = 0;
            for (int j = k * s; j < (k + 1) * s; j++) {
                sum += work[stride + j];
                squares += work[2 * stride + j];
            }
            finish(x, xOffset, n, c, s, c0 + k, work[k * s], sum, squares, count, mean, variance);
        }
    }

    /**
     * Rows of exactly four float vectors of positions (64 channels channels-last at 512 bits, 32 at 256): the
     * sums (from zero: all n rows go through here) and the shifts stay in registers (24 vectors) while every row
     * streams by, added in the order of the other widths (the bits of addFourRows and addRow). InstanceNorm 8x64x128x128 channels-last statistics
     * 2.8 -> 1.0 ms in a scratch harness (same JVM, Zen 5, 2026-12-04): the row forms load and store every sum
     * once per row or per four rows. Wider rows would need more registers than there are; walked in column
     * blocks instead, they read each row with a stride (2x slower from memory, see acrossPositions; in chunks of
     * 32 KB of rows, 10-45% slower, bench/RESULTS.md).
     */
    private static void registerRows(float[] x, int from, int row, int n, int stride, double[] work) {
        int s = stride;
        int q = 2 * stride;
        DoubleVector p0 = DoubleVector.fromArray(D, work, 0);
        DoubleVector p1 = DoubleVector.fromArray(D, work, DL);
        DoubleVector p2 = DoubleVector.fromArray(D, work, 2 * DL);
        DoubleVector p3 = DoubleVector.fromArray(D, work, 3 * DL);
        DoubleVector p4 = DoubleVector.fromArray(D, work, 4 * DL);
        DoubleVector p5 = DoubleVector.fromArray(D, work, 5 * DL);
        DoubleVector p6 = DoubleVector.fromArray(D, work, 6 * DL);
        DoubleVector p7 = DoubleVector.fromArray(D, work, 7 * DL);
        DoubleVector s0 = DoubleVector.zero(D);
        DoubleVector s1 = s0;
        DoubleVector s2 = s0;
        DoubleVector s3 = s0;
        DoubleVector s4 = s0;
        DoubleVector s5 = s0;
        DoubleVector s6 = s0;
        DoubleVector s7 = s0;
        DoubleVector q0 = s0;
        DoubleVector q1 = s0;
        DoubleVector q2 = s0;
        DoubleVector q3 = s0;
        DoubleVector q4 = s0;
        DoubleVector q5 = s0;
        DoubleVector q6 = s0;
        DoubleVector q7 = s0;
        int quarter = n / 4;
        for (int t = 0; t < n; t++) {
            // Rows in the order of the other widths (four quarters, then the rest): the same bits.
            int at = from + (t < 4 * quarter ? (t >> 2) + (t & 3) * quarter : t) * row;
            DoubleVector a0 = ((DoubleVector) FloatVector.fromArray(FH, x, at).convertShape(F2D, D, 0)).sub(p0);
            DoubleVector a1 = ((DoubleVector) FloatVector.fromArray(FH, x, at + DL).convertShape(F2D, D, 0)).sub(p1);
            DoubleVector a2 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 2 * DL).convertShape(F2D, D, 0)).sub(p2);
            DoubleVector a3 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 3 * DL).convertShape(F2D, D, 0)).sub(p3);
            DoubleVector a4 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 4 * DL).convertShape(F2D, D, 0)).sub(p4);
            DoubleVector a5 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 5 * DL).convertShape(F2D, D, 0)).sub(p5);
            DoubleVector a6 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 6 * DL).convertShape(F2D, D, 0)).sub(p6);
            DoubleVector a7 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + 7 * DL).convertShape(F2D, D, 0)).sub(p7);
            s0 = s0.add(a0);
            s1 = s1.add(a1);
            s2 = s2.add(a2);
            s3 = s3.add(a3);
            s4 = s4.add(a4);
            s5 = s5.add(a5);
            s6 = s6.add(a6);
            s7 = s7.add(a7);
            q0 = a0.fma(a0, q0);
            q1 = a1.fma(a1, q1);
            q2 = a2.fma(a2, q2);
            q3 = a3.fma(a3, q3);
            q4 = a4.fma(a4, q4);
            q5 = a5.fma(a5, q5);
            q6 = a6.fma(a6, q6);
            q7 = a7.fma(a7, q7);
        }
        s0.intoArray(work, s);
        s1.intoArray(work, s + DL);
        s2.intoArray(work, s + 2 * DL);
        s3.intoArray(work, s + 3 * DL);
        s4.intoArray(work, s + 4 * DL);
        s5.intoArray(work, s + 5 * DL);
        s6.intoArray(work, s + 6 * DL);
        s7.intoArray(work, s + 7 * DL);
        q0.intoArray(work, q);
        q1.intoArray(work, q + DL);
        q2.intoArray(work, q + 2 * DL);
        q3.intoArray(work, q + 3 * DL);
        q4.intoArray(work, q + 4 * DL);
        q5.intoArray(work, q + 5 * DL);
        q6.intoArray(work, q + 6 * DL);
        q7.intoArray(work, q + 7 * DL);
    }

    /** Four rows {@code row} apart, each position's in that order (the bits of four addRow calls). */
    private static void addFourRows(float[] x, int at, int row, int width, int stride, double[] work) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            DoubleVector shiftLo = DoubleVector.fromArray(D, work, q);
            DoubleVector shiftHi = DoubleVector.fromArray(D, work, q + DL);
            DoubleVector a0 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + q).convertShape(F2D, D, 0)).sub(shiftLo);
            DoubleVector b0 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + q + DL).convertShape(F2D, D, 0)).sub(shiftHi);
            DoubleVector a1 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, at + row + q).convertShape(F2D, D, 0)).sub(shiftLo);
            DoubleVector b1 = ((DoubleVector) FloatVector.fromArray(FH, x, at + row + q + DL).convertShape(F2D, D, 0))
                    .sub(shiftHi);
            DoubleVector a2 = ((DoubleVector) FloatVector.fromArray(FH, x, at + 2 * row + q).convertShape(F2D, D, 0))
                    .sub(shiftLo);
            DoubleVector b2 = ((DoubleVector) FloatVector.fromArray(FH, x, at + 2 * row + q + DL)
                    .convertShape(F2D, D, 0)).sub(shiftHi);
            DoubleVector a3 = ((DoubleVector) FloatVector.fromArray(FH, x, at + 3 * row + q).convertShape(F2D, D, 0))
                    .sub(shiftLo);
            DoubleVector b3 = ((DoubleVector) FloatVector.fromArray(FH, x, at + 3 * row + q + DL)
                    .convertShape(F2D, D, 0)).sub(shiftHi);
            DoubleVector.fromArray(D, work, stride + q).add(a0).add(a1).add(a2).add(a3).intoArray(work, stride + q);
            DoubleVector.fromArray(D, work, stride + q + DL).add(b0).add(b1).add(b2).add(b3)
                    .intoArray(work, stride + q + DL);
            a3.fma(a3, a2.fma(a2, a1.fma(a1, a0.fma(a0, DoubleVector.fromArray(D, work, 2 * stride + q)))))
                    .intoArray(work, 2 * stride + q);
            b3.fma(b3, b2.fma(b2, b1.fma(b1, b0.fma(b0, DoubleVector.fromArray(D, work, 2 * stride + q + DL)))))
                    .intoArray(work, 2 * stride + q + DL);
        }
        for (int r = 0; r < 4; r++) {
            for (int q = limit; q < width; q++) {
                double d = x[at + r * row + q] - work[q];
                work[stride + q] += d;
                work[2 * stride + q] = Math.fma(d, d, work[2 * stride + q]);
            }
        }
    }

    /** Adds one row of {@code width} positions to their sums; no vector crosses the method boundary. */
    private static void addRow(float[] x, int at, int width, int stride, double[] work) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            DoubleVector lo = ((DoubleVector) FloatVector.fromArray(FH, x, at + q).convertShape(F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, work, q));
            DoubleVector hi = ((DoubleVector) FloatVector.fromArray(FH, x, at + q + DL).convertShape(F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, work, q + DL));
            DoubleVector.fromArray(D, work, stride + q).add(lo).intoArray(work, stride + q);
            DoubleVector.fromArray(D, work, stride + q + DL).add(hi).intoArray(work, stride + q + DL);
            lo.fma(lo, DoubleVector.fromArray(D, work, 2 * stride + q)).intoArray(work, 2 * stride + q);
            hi.fma(hi, DoubleVector.fromArray(D, work, 2 * stride + q + DL)).intoArray(work, 2 * stride + q + DL);
        }
        for (int q = limit; q < width; q++) {
            double d = x[at + q] - work[q];
            work[stride + q] += d;
            work[2 * stride + q] = Math.fma(d, d, work[2 * stride + q]);
        }
    }
}
