package dev.vecnorm.kernels;

import static dev.vecnorm.kernels.Lanes.D;
import static dev.vecnorm.kernels.Lanes.DL;
import static dev.vecnorm.kernels.Lanes.FH;
import static dev.vecnorm.kernels.Lanes.L;
import static dev.vecnorm.kernels.Lanes.widen;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

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

    /** True if the run length is long enough for this pass (at least one full vector per run). */
    static boolean applies(int s) {
        return s >= L;
    }

    static void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1, double[] mean,
            double[] variance) {
        int channels = c1 - c0;
        double[][] scratch = SCRATCH.get();
        if (scratch[0].length < channels * STATE) {
            scratch[0] = new double[channels * STATE];
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
        for (int i = 0; i < n; i++) {
            int start = xOffset + i * row + c0 * s;
            for (int k = 0; k < channels; k++) {
                addRun(x, start + k * s, s, shift[k], lanes, k * STATE);
            }
        }
        double count = (double) n * s;
        for (int k = 0; k < channels; k++) {
            int ch = c0 + k;
            int a = k * STATE;
            double sum = 0;
            double squares = 0;
            // Lane order fixed: the same bits for any block size or thread count.
            for (int t = 0; t < 2 * DL; t++) {
                sum += lanes[a + t];
                squares += lanes[a + 2 * DL + t];
            }
            double offset = sum / count;
            double m = shift[k] + offset;
            double v = Math.max(0.0, squares - sum * offset) / count;
            if (Double.isFinite(m) && Double.isFinite(v)) {
                mean[ch] = m;
                variance[ch] = v;
            } else {
                // NaN or infinite data: the reference decides what such a channel's statistics are.
                ScalarBatchNormKernels.INSTANCE.moments(x, xOffset, n, c, s, ch, ch + 1, mean, variance);
            }
        }
    }

    /** Adds one run of s floats at {@code from} to the lanes at {@code a}. */
    private static void addRun(float[] x, int from, int s, double shift, double[] lanes, int a) {
        DoubleVector p = DoubleVector.broadcast(D, shift);
        DoubleVector sum0 = DoubleVector.fromArray(D, lanes, a);
        DoubleVector sum1 = DoubleVector.fromArray(D, lanes, a + DL);
        DoubleVector sq0 = DoubleVector.fromArray(D, lanes, a + 2 * DL);
        DoubleVector sq1 = DoubleVector.fromArray(D, lanes, a + 3 * DL);
        int limit = s - s % L;
        for (int j = 0; j < limit; j += L) {
            DoubleVector lo = widen(FloatVector.fromArray(FH, x, from + j)).sub(p);
            DoubleVector hi = widen(FloatVector.fromArray(FH, x, from + j + DL)).sub(p);
            sum0 = sum0.add(lo);
            sum1 = sum1.add(hi);
            sq0 = lo.fma(lo, sq0);
            sq1 = hi.fma(hi, sq1);
        }
        // The tail (fewer than L floats, possibly none) is always taken, masked: no branch for C2 to compile as
        // a trap on shapes whose runs divide evenly, only to deoptimize on the first shape whose runs don't.
        // The tail (under one float vector, possibly none) in scalar doubles: masked vector steps cost ~15 cycles
        // per run even for one element (measured: 32x2048x49x1 0.82 ms vs 0.54 ms at s = 48), and the tail is
        // short.
        double tailSum = 0;
        double tailSquares = 0;
        for (int j = limit; j < s; j++) {
            double d = x[from + j] - shift;
            tailSum += d;
            tailSquares += d * d;
        }
        sum0.intoArray(lanes, a);
        sum1.intoArray(lanes, a + DL);
        sq0.intoArray(lanes, a + 2 * DL);
        sq1.intoArray(lanes, a + 3 * DL);
        lanes[a] += tailSum;
        lanes[a + 2 * DL] += tailSquares;
    }
}
