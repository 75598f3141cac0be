package dev.vecnorm.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernels. Loaded by name from {@link Kernels} only when {@code jdk.incubator.vector} is
 * readable; nothing else in the library refers to this class.
 *
 * <p>Two loop strategies, chosen by the run length s:
 * <ul>
 *   <li><b>along runs</b> (s &ge; one vector): a channel is n contiguous runs of s floats; the passes live in
 *       {@link ShiftedSums} (statistics), {@link AffineRuns} (normalize) and {@link GradientRuns} (backward),
 *       each walking a block of channels in memory order;</li>
 *   <li><b>across positions</b> (s shorter than a vector, and s = 1 for rank 2 where channels are the contiguous
 *       axis): a row of c*s floats is contiguous for each batch index; vector lanes hold positions (channel,
 *       spatial) and the loop over the batch index accumulates per-lane state that is folded into its channel
 *       at the end. Statistics there are Welford updates per lane on pivoted, power-of-two-scaled values
 *       {@code (x - pivot) * scale}, folded into double every {@link #BLOCK} rows with Chan's formula; the mean
 *       comes from plain sums of x in double lanes in the same pass.</li>
 * </ul>
 *
 * <p>The MemorySegment overloads repeat the element-wise and backward loops with segment access and the same
 * arithmetic (bit for bit the array results); statistics of segments are staged through arrays by the caller.
 */
final class PanamaBatchNormKernels implements BatchNormKernels, SegmentKernels {

    /** Test-only system property: force a vector bit size (128, 256, 512) instead of the preferred one. */
    static final String BIT_SIZE_PROPERTY = Lanes.BIT_SIZE_PROPERTY;

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final int L = Lanes.L;
    private static final VectorSpecies<Double> D = Lanes.D;
    private static final VectorSpecies<Float> FH = Lanes.FH;
    private static final int DL = Lanes.DL;
    /** Float updates per lane state before folding into double; bounds the float error growth. */
    private static final int BLOCK = 128;
    /** RECIPROCALS[k] = 1/(k+1): the Welford step weight after k+1 updates, without a division per step. */
    private static final float[] RECIPROCALS = new float[BLOCK];
    private static final int PIVOT_SAMPLES = 9;
    /**
     * A channel whose M2 per value, in scaled units, is below this was either constant or had its squares
     * underflow (scaled deviations under 2^-63 square to subnormals); it is checked against every value.
     */
    private static final double TINY_SCALED_M2 = 0x1p-60;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    static {
        for (int k = 0; k < BLOCK; k++) {
            RECIPROCALS[k] = 1.0f / (k + 1);
        }
    }

    /**
     * Per-thread working arrays, grown on demand and reused, so that a forward pass over hundreds of channel
     * blocks allocates nothing per block. Each call takes the slots it needs; contents are not preserved.
     */
    private static final class Scratch {
        private final float[][] floats = new float[10][0];
        private final double[][] doubles = new double[8][0];

        float[] floats(int slot, int length) {
            if (floats[slot].length < length) {
                floats[slot] = new float[Math.max(length, 2 * floats[slot].length)];
            }
            return floats[slot];
        }

        double[] doubles(int slot, int length) {
            if (doubles[slot].length < length) {
                doubles[slot] = new double[Math.max(length, 2 * doubles[slot].length)];
            }
            return doubles[slot];
        }

        /** A zeroed prefix of {@code length} in a double slot. */
        double[] zeroedDoubles(int slot, int length) {
            double[] a = doubles(slot, length);
            java.util.Arrays.fill(a, 0, length, 0.0);
            return a;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private PanamaBatchNormKernels() {
    }

    /** Factory called reflectively by {@link Kernels}; refuses species too narrow to pay off. */
    static PanamaBatchNormKernels create() {
        if (L < 4) {
            throw new UnsupportedOperationException("the float vector species " + F + " has " + L
                    + " lanes; the Vector API kernels need at least 4");
        }
        return new PanamaBatchNormKernels();
    }

    @Override
    public String name() {
        return "vector-" + F.vectorBitSize();
    }

    // ------------------------------------------------------------------------------------------------------
    // statistics

    @Override
    public void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            double[] mean, double[] variance) {
        if (ShiftedSums.applies(s)) {
            ShiftedSums.moments(x, xOffset, n, c, s, c0, c1, mean, variance);
            return;
        }
        int channels = c1 - c0;
        Scratch scratch = SCRATCH.get();
        float[] pivot = scratch.floats(0, channels);
        float[] scale = scratch.floats(1, channels);
        float[] samples = scratch.floats(2, PIVOT_SAMPLES);
        for (int ch = c0; ch < c1; ch++) {
            choosePivot(x, xOffset, n, c, s, ch, samples, pivot, scale, ch - c0);
        }
        // Chan accumulators per channel, in pivoted and scaled units: count, mean, M2.
        double[] count = scratch.zeroedDoubles(0, channels);
        double[] mu = scratch.zeroedDoubles(1, channels);
        double[] m2 = scratch.zeroedDoubles(2, channels);
        // Plain sums of x in double lanes: exact for float data of any realistic size and spread. The float
        // Welford mean is only good to ~1e-6 of the spread, which is not 1e-5 of a mean much smaller than the
        // spread (zero-mean data with std 100 already misses); the sums give the mean, Welford the M2.
        double[] sumX = scratch.zeroedDoubles(6, channels);
        welfordAcrossPositions(x, xOffset, n, c, s, c0, c1, pivot, scale, count, mu, m2, sumX, scratch);
        for (int ch = c0; ch < c1; ch++) {
            int k = ch - c0;
            double sc = scale[k];
            double welfordMean = pivot[k] + mu[k] / sc;
            double m = sumX[k] / count[k];
            // M2 about the Welford mean, moved to the exact mean (parallel-axis rule).
            double shift = welfordMean - m;
            double v = m2[k] / count[k] / (sc * sc) + shift * shift;
            if (!Double.isFinite(m) || !Double.isFinite(v)) {
                // NaN/Inf data stays non-finite; finite data that overflowed the scaled float path (values of
                // wildly different magnitudes in one channel) is recomputed exactly.
                ScalarBatchNormKernels.INSTANCE.moments(x, xOffset, n, c, s, ch, ch + 1, mean, variance);
            } else if (m2[k] < TINY_SCALED_M2 * count[k]) {
                // The scale came from a few samples; if they missed the data's spread (sparse data whose samples
                // are all zeros, with rare values around 1e-25), the float squares underflowed and M2 is too
                // small. A constant channel also lands here: tell the two apart by looking at every value.
                if (deviates(x, xOffset, n, c, s, ch, pivot[k])) {
                    ScalarBatchNormKernels.INSTANCE.moments(x, xOffset, n, c, s, ch, ch + 1, mean, variance);
                } else {
                    mean[ch] = pivot[k];
                    variance[ch] = 0;
                }
            } else {
                mean[ch] = m;
                variance[ch] = v;
            }
        }
    }

    /** True if any value of channel ch differs from {@code pivot} (NaN counts as different). */
    private static boolean deviates(float[] x, int xOffset, int n, int c, int s, int ch, float pivot) {
        FloatVector p = FloatVector.broadcast(F, pivot);
        int bound = F.loopBound(s);
        for (int i = 0; i < n; i++) {
            int run = xOffset + (i * c + ch) * s;
            int j = 0;
            for (; j < bound; j += L) {
                if (FloatVector.fromArray(F, x, run + j).compare(VectorOperators.NE, p).anyTrue()) {
                    return true;
                }
            }
            for (; j < s; j++) {
                if (x[run + j] != pivot) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Pivot = median of up to 9 values spread over the channel (3 for rank 2); scale = a power of two that brings
     * the samples' spread around the pivot to about 1 (exact to apply; keeps squares away from float under- and
     * overflow).
     */
    private static void choosePivot(float[] x, int xOffset, int n, int c, int s, int ch, float[] samples,
            float[] pivot, float[] scale, int k) {
        long count = (long) n * s;
        // Rank 2 layers have thousands of channels of a few hundred values each: there, three samples (first,
        // middle and last row, read along rows) keep the per-channel cost below the cost of the data.
        int taken = (int) Math.min(s == 1 ? 3 : PIVOT_SAMPLES, count);
        for (int t = 0; t < taken; t++) {
            // Sample t of `taken`, evenly spaced over the channel's n*s values.
            long j = taken == 1 ? 0 : (count - 1) * t / (taken - 1);
            int i = s == 1 ? (int) j : (int) (j / s);
            int p = s == 1 ? 0 : (int) (j - (long) i * s);
            float v = x[xOffset + (i * c + ch) * s + p];
            int u = t;
            while (u > 0 && Float.compare(samples[u - 1], v) > 0) {
                samples[u] = samples[u - 1];
                u--;
            }
            samples[u] = v;
        }
        float median = samples[taken / 2];
        float spread = 0;
        for (int t = 0; t < taken; t++) {
            spread = Math.max(spread, Math.abs(samples[t] - median));
        }
        float reference = spread > 0 ? spread : Math.abs(median);
        boolean usable = Float.isFinite(median) && Float.isFinite(reference) && reference > 0;
        pivot[k] = Float.isFinite(median) ? median : 0f;
        scale[k] = usable ? Math.scalb(1f, -Math.getExponent(reference)) : 1f;
    }

    /** Chan's parallel merge of (nb, meanB, m2B) into accumulator k. */
    private static void merge(double[] count, double[] mu, double[] m2, int k, double nb, double meanB, double m2B) {
        double na = count[k];
        if (na == 0) {
            // The first state of a channel (every position's first fold, for rank 2): no division needed.
            count[k] = nb;
            mu[k] = meanB;
            m2[k] = m2B;
            return;
        }
        double total = na + nb;
        double delta = meanB - mu[k];
        mu[k] += delta * (nb / total);
        m2[k] += m2B + delta * delta * (na * nb / total);
        count[k] = total;
    }

    /**
     * Short runs: a row of the block (all positions of channels [c0, c1) for one batch index) is contiguous, so
     * rows stream in memory order; each position keeps a Welford state in float arrays that stay in L1/L2, and
     * every {@link #BLOCK} rows the states are folded into their channels in double.
     */
    private static void welfordAcrossPositions(float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            float[] pivot, float[] scale, double[] count, double[] mu, double[] m2, double[] sumX, Scratch scratch) {
        int p0 = c0 * s;
        int width = (c1 - c0) * s;
        int row = c * s;
        // pivot and scale are indexed from c0 (channel c0 at 0), unlike the absolute per-channel arguments.
        float[] positionPivot = perPosition(pivot, 0, c1 - c0, s, scratch.floats(5, width));
        float[] positionScale = perPosition(scale, 0, c1 - c0, s, scratch.floats(6, width));
        float[] laneMean = scratch.floats(7, width);
        float[] laneM2 = scratch.floats(8, width);
        double[] positionSum = scratch.zeroedDoubles(7, width);
        java.util.Arrays.fill(laneMean, 0, width, 0f);
        java.util.Arrays.fill(laneM2, 0, width, 0f);
        int steps = 0;
        int i = 0;
        while (i < n) {
            int base = xOffset + i * row + p0;
            if (i + 3 < n && steps + 4 <= BLOCK) {
                welfordFourRows(x, base, row, width, positionPivot, positionScale, laneMean, laneM2, steps);
                addRows(x, base, row, 4, width, positionSum);
                steps += 4;
                i += 4;
            } else {
                welfordRow(x, base, width, positionPivot, positionScale, laneMean, laneM2, RECIPROCALS[steps++]);
                addRows(x, base, row, 1, width, positionSum);
                i++;
            }
            if (steps == BLOCK || i == n) {
                foldPositions(laneMean, laneM2, width, steps, p0, s, c0, count, mu, m2);
                java.util.Arrays.fill(laneMean, 0, width, 0f);
                java.util.Arrays.fill(laneM2, 0, width, 0f);
                steps = 0;
            }
        }
        for (int q = 0; q < width; q++) {
            sumX[q / s] += positionSum[q];
        }
    }

    /** Adds {@code rows} rows (rowStride apart) of x, widened to double, to the per-position sums. */
    private static void addRows(float[] x, int base, int rowStride, int rows, int width, double[] positionSum) {
        int bound = FH.loopBound(width);
        int q = 0;
        for (; q < bound; q += DL) {
            DoubleVector sum = DoubleVector.fromArray(D, positionSum, q);
            for (int t = 0; t < rows; t++) {
                sum = sum.add(widen(FloatVector.fromArray(FH, x, base + t * rowStride + q)));
            }
            sum.intoArray(positionSum, q);
        }
        for (; q < width; q++) {
            for (int t = 0; t < rows; t++) {
                positionSum[q] += x[base + t * rowStride + q];
            }
        }
    }

    /**
     * Four consecutive Welford steps (the {@code steps}-th to the {@code steps+3}-th of the block) for every
     * position of four rows {@code rowStride} apart: the lane states stay in registers between them. Storing and
     * reloading them for every row measured 2-4x slower (the reload of a state just stored stalls the loop).
     */
    private static void welfordFourRows(float[] x, int base, int rowStride, int width, float[] pivot,
            float[] scale, float[] laneMean, float[] laneM2, int steps) {
        FloatVector r0 = FloatVector.broadcast(F, RECIPROCALS[steps]);
        FloatVector r1 = FloatVector.broadcast(F, RECIPROCALS[steps + 1]);
        FloatVector r2 = FloatVector.broadcast(F, RECIPROCALS[steps + 2]);
        FloatVector r3 = FloatVector.broadcast(F, RECIPROCALS[steps + 3]);
        int bound = F.loopBound(width);
        int q = 0;
        for (; q < bound; q += L) {
            FloatVector p = FloatVector.fromArray(F, pivot, q);
            FloatVector sc = FloatVector.fromArray(F, scale, q);
            FloatVector mean = FloatVector.fromArray(F, laneMean, q);
            FloatVector m2 = FloatVector.fromArray(F, laneM2, q);
            FloatVector v = FloatVector.fromArray(F, x, base + q).sub(p).mul(sc);
            FloatVector d = v.sub(mean);
            mean = d.fma(r0, mean);
            m2 = d.fma(v.sub(mean), m2);
            v = FloatVector.fromArray(F, x, base + rowStride + q).sub(p).mul(sc);
            d = v.sub(mean);
            mean = d.fma(r1, mean);
            m2 = d.fma(v.sub(mean), m2);
            v = FloatVector.fromArray(F, x, base + 2 * rowStride + q).sub(p).mul(sc);
            d = v.sub(mean);
            mean = d.fma(r2, mean);
            m2 = d.fma(v.sub(mean), m2);
            v = FloatVector.fromArray(F, x, base + 3 * rowStride + q).sub(p).mul(sc);
            d = v.sub(mean);
            mean = d.fma(r3, mean);
            m2 = d.fma(v.sub(mean), m2);
            mean.intoArray(laneMean, q);
            m2.intoArray(laneM2, q);
        }
        // The tail (under one vector of positions) row by row, with masks.
        for (int t = 0; t < 4 && q < width; t++) {
            welfordRowTail(x, base + t * rowStride, q, width, pivot, scale, laneMean, laneM2, RECIPROCALS[steps + t]);
        }
    }

    /** One Welford step with weight r for every position of a contiguous row. */
    private static void welfordRow(float[] x, int base, int width, float[] pivot, float[] scale, float[] laneMean,
            float[] laneM2, float r) {
        FloatVector rv = FloatVector.broadcast(F, r);
        int bound = F.loopBound(width);
        int q = 0;
        for (; q < bound; q += L) {
            FloatVector v = FloatVector.fromArray(F, x, base + q).sub(FloatVector.fromArray(F, pivot, q))
                    .mul(FloatVector.fromArray(F, scale, q));
            FloatVector mean = FloatVector.fromArray(F, laneMean, q);
            FloatVector d = v.sub(mean);
            mean = d.fma(rv, mean);
            mean.intoArray(laneMean, q);
            d.fma(v.sub(mean), FloatVector.fromArray(F, laneM2, q)).intoArray(laneM2, q);
        }
        if (q < width) {
            welfordRowTail(x, base, q, width, pivot, scale, laneMean, laneM2, r);
        }
    }

    /** The masked Welford step for positions [q, width) of a row (fewer than one vector). */
    private static void welfordRowTail(float[] x, int base, int q, int width, float[] pivot, float[] scale,
            float[] laneMean, float[] laneM2, float r) {
        VectorMask<Float> k = F.indexInRange(q, width);
        FloatVector v = FloatVector.fromArray(F, x, base + q, k).sub(FloatVector.fromArray(F, pivot, q, k))
                .mul(FloatVector.fromArray(F, scale, q, k));
        FloatVector mean = FloatVector.fromArray(F, laneMean, q, k);
        FloatVector d = v.sub(mean);
        mean = d.fma(FloatVector.broadcast(F, r), mean);
        mean.intoArray(laneMean, q, k);
        d.fma(v.sub(mean), FloatVector.fromArray(F, laneM2, q, k)).intoArray(laneM2, q, k);
    }

    /** Folds lane states of consecutive positions starting at p into their channels' accumulators. */
    private static void foldPositions(float[] laneMean, float[] laneM2, int lanes, int steps, int p, int s,
            int c0, double[] count, double[] mu, double[] m2) {
        int ch = p / s;
        int within = p - ch * s;
        for (int t = 0; t < lanes; t++) {
            merge(count, mu, m2, ch - c0, steps, laneMean[t], laneM2[t]);
            if (++within == s) {
                within = 0;
                ch++;
            }
        }
    }

    /**
     * Channel values repeated for each of their s positions. Plain loops, not Arrays.fill per channel: with
     * s = 1 and a thousand channels, a call per channel measured as a third of a rank-2 inference.
     */
    private static float[] perPosition(float[] perChannel, int c0, int c1, int s, float[] out) {
        if (s == 1) {
            System.arraycopy(perChannel, c0, out, 0, c1 - c0);
            return out;
        }
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            float v = perChannel[ch];
            for (int j = 0; j < s; j++) {
                out[k++] = v;
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------------
    // element-wise passes

    @Override
    public void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        if (AffineRuns.applies(s)) {
            AffineRuns.affine(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        } else {
            affineAcrossPositions(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        }
    }

    private static void affineAcrossPositions(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s,
            int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int p0 = c0 * s;
        int width = (c1 - c0) * s;
        int row = c * s;
        Scratch scratch = SCRATCH.get();
        float[] hiP = perPosition(centerHi, c0, c1, s, scratch.floats(5, width));
        float[] loP = perPosition(centerLo, c0, c1, s, scratch.floats(6, width));
        float[] aP = perPosition(scale, c0, c1, s, scratch.floats(7, width));
        float[] bP = perPosition(shift, c0, c1, s, scratch.floats(8, width));
        int bound = F.loopBound(width);
        for (int i = 0; i < n; i++) {
            int in = xOffset + i * row + p0;
            int out = yOffset + i * row + p0;
            int q = 0;
            for (; q < bound; q += L) {
                FloatVector.fromArray(F, x, in + q)
                        .sub(FloatVector.fromArray(F, hiP, q))
                        .sub(FloatVector.fromArray(F, loP, q))
                        .fma(FloatVector.fromArray(F, aP, q), FloatVector.fromArray(F, bP, q))
                        .intoArray(y, out + q);
            }
            if (q < width) {
                VectorMask<Float> m = F.indexInRange(q, width);
                FloatVector.fromArray(F, x, in + q, m)
                        .sub(FloatVector.fromArray(F, hiP, q, m))
                        .sub(FloatVector.fromArray(F, loP, q, m))
                        .fma(FloatVector.fromArray(F, aP, q, m), FloatVector.fromArray(F, bP, q, m))
                        .intoArray(y, out + q, m);
            }
        }
    }

    @Override
    public void gradientInput(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset,
            int n, int c, int s, int c0, int c1,
            float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        if (GradientRuns.applies(s)) {
            GradientRuns.input(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
            return;
        }
        // dx is a difference of terms much larger than itself when dy is nearly explained by the mean and xhat:
        // computing it in double keeps the float32 result within a few ulps of the exact value.
        gradientInputAcrossPositions(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                centeredScale, shift);
    }

    private static void gradientInputAcrossPositions(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx,
            int dxOffset, int n, int c, int s, int c0, int c1, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        int p0 = c0 * s;
        int width = (c1 - c0) * s;
        int row = c * s;
        Scratch scratch = SCRATCH.get();
        double[] mP = widenedPerPosition(center, c0, c1, s, scratch.doubles(3, width));
        double[] aP = perPosition(dyScale, c0, c1, s, scratch.doubles(4, width));
        double[] bP = perPosition(centeredScale, c0, c1, s, scratch.doubles(5, width));
        double[] dP = perPosition(shift, c0, c1, s, scratch.doubles(6, width));
        int bound = FH.loopBound(width);
        for (int i = 0; i < n; i++) {
            int g = dyOffset + i * row + p0;
            int in = xOffset + i * row + p0;
            int out = dxOffset + i * row + p0;
            int q = 0;
            // Unmasked body, masked tail: a mask on every step measured 2x slower on 256x1024.
            for (; q < bound; q += DL) {
                DoubleVector xc = widen(FloatVector.fromArray(FH, x, in + q)).sub(DoubleVector.fromArray(D, mP, q));
                narrow(widen(FloatVector.fromArray(FH, dy, g + q)).mul(DoubleVector.fromArray(D, aP, q))
                        .sub(xc.fma(DoubleVector.fromArray(D, bP, q), DoubleVector.fromArray(D, dP, q))))
                        .intoArray(dx, out + q);
            }
            if (q < width) {
                VectorMask<Float> k = FH.indexInRange(q, width);
                VectorMask<Double> kd = D.indexInRange(q, width);
                DoubleVector xc = widen(FloatVector.fromArray(FH, x, in + q, k))
                        .sub(DoubleVector.fromArray(D, mP, q, kd));
                narrow(widen(FloatVector.fromArray(FH, dy, g + q, k)).mul(DoubleVector.fromArray(D, aP, q, kd))
                        .sub(xc.fma(DoubleVector.fromArray(D, bP, q, kd), DoubleVector.fromArray(D, dP, q, kd))))
                        .intoArray(dx, out + q, k);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // backward sums

    @Override
    public void gradientSums(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s, int c0,
            int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        if (GradientRuns.applies(s)) {
            GradientRuns.sums(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
            return;
        }
        // Sums of up to 2^31 terms that often cancel: accumulate in double lanes (products of widened floats
        // are exact), which costs nothing measurable in a pass bound by memory.
        sumsAcrossPositions(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
    }

    private static void sumsAcrossPositions(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        int p0 = c0 * s;
        int width = (c1 - c0) * s;
        int row = c * s;
        Scratch scratch = SCRATCH.get();
        double[] mP = widenedPerPosition(center, c0, c1, s, scratch.doubles(3, width));
        for (int ch = c0; ch < c1; ch++) {
            sumDy[ch] = 0;
            sumDyCentered[ch] = 0;
        }
        double[] laneDy = scratch.doubles(4, 4 * DL);
        double[] laneDyXc = scratch.doubles(5, 4 * DL);
        int q = 0;
        for (int wide = width - width % (4 * DL); q < wide; q += 4 * DL) {
            sumFourColumns(dy, dyOffset + p0 + q, x, xOffset + p0 + q, n, row, mP, q, laneDy, laneDyXc);
            addLanes(laneDy, laneDyXc, 4 * DL, c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
        for (; q < width; q += DL) {
            sumOneColumn(dy, dyOffset + p0, x, xOffset + p0, n, row, mP, q, width, laneDy, laneDyXc);
            addLanes(laneDy, laneDyXc, Math.min(DL, width - q), c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
    }

    /**
     * Four columns of lanes down all rows: four independent add and FMA chains, and whole cache lines per row
     * (one column alone waits on its chains' latency at every row). Its own method with array results only: a
     * caller that grew past C2's inlining budget would otherwise box these vectors on every row (measured: 8 MB
     * allocated per 256x1024 backward, in a JVM that had run other shapes first).
     */
    private static void sumFourColumns(float[] dy, int g, float[] x, int in, int n, int row, double[] mP, int q,
            double[] laneDy, double[] laneDyXc) {
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector m0 = DoubleVector.fromArray(D, mP, q);
        DoubleVector m1 = DoubleVector.fromArray(D, mP, q + DL);
        DoubleVector m2 = DoubleVector.fromArray(D, mP, q + 2 * DL);
        DoubleVector m3 = DoubleVector.fromArray(D, mP, q + 3 * DL);
        DoubleVector g0 = zero, g1 = zero, g2 = zero, g3 = zero, h0 = zero, h1 = zero, h2 = zero, h3 = zero;
        for (int i = 0; i < n; i++) {
            int a = g + i * row;
            int b = in + i * row;
            DoubleVector a0 = widen(FloatVector.fromArray(FH, dy, a));
            DoubleVector a1 = widen(FloatVector.fromArray(FH, dy, a + DL));
            DoubleVector a2 = widen(FloatVector.fromArray(FH, dy, a + 2 * DL));
            DoubleVector a3 = widen(FloatVector.fromArray(FH, dy, a + 3 * DL));
            g0 = g0.add(a0);
            g1 = g1.add(a1);
            g2 = g2.add(a2);
            g3 = g3.add(a3);
            h0 = a0.fma(widen(FloatVector.fromArray(FH, x, b)).sub(m0), h0);
            h1 = a1.fma(widen(FloatVector.fromArray(FH, x, b + DL)).sub(m1), h1);
            h2 = a2.fma(widen(FloatVector.fromArray(FH, x, b + 2 * DL)).sub(m2), h2);
            h3 = a3.fma(widen(FloatVector.fromArray(FH, x, b + 3 * DL)).sub(m3), h3);
        }
        g0.intoArray(laneDy, 0);
        g1.intoArray(laneDy, DL);
        g2.intoArray(laneDy, 2 * DL);
        g3.intoArray(laneDy, 3 * DL);
        h0.intoArray(laneDyXc, 0);
        h1.intoArray(laneDyXc, DL);
        h2.intoArray(laneDyXc, 2 * DL);
        h3.intoArray(laneDyXc, 3 * DL);
    }

    /** One masked column of lanes down all rows (the last, partial columns). */
    private static void sumOneColumn(float[] dy, int g, float[] x, int in, int n, int row, double[] mP, int q,
            int width, double[] laneDy, double[] laneDyXc) {
        VectorMask<Float> k = FH.indexInRange(q, width);
        DoubleVector m = DoubleVector.fromArray(D, mP, q, D.indexInRange(q, width));
        DoubleVector g0 = DoubleVector.zero(D);
        DoubleVector h0 = g0;
        for (int i = 0; i < n; i++) {
            DoubleVector a = widen(FloatVector.fromArray(FH, dy, g + i * row + q, k));
            g0 = g0.add(a);
            h0 = a.fma(widen(FloatVector.fromArray(FH, x, in + i * row + q, k)).sub(m), h0);
        }
        g0.intoArray(laneDy, 0);
        h0.intoArray(laneDyXc, 0);
    }

    private static void storeLanes(DoubleVector v0, DoubleVector v1, DoubleVector v2, DoubleVector v3,
            double[] lanes) {
        v0.intoArray(lanes, 0);
        v1.intoArray(lanes, DL);
        v2.intoArray(lanes, 2 * DL);
        v3.intoArray(lanes, 3 * DL);
    }

    /** Adds the first {@code active} lane sums to their channels; lane 0 is position {@code within} of {@code ch}. */
    private static void addLanes(double[] laneDy, double[] laneDyXc, int active, int ch, int within, int s,
            double[] sumDy, double[] sumDyCentered) {
        for (int t = 0; t < active; t++) {
            sumDy[ch] += laneDy[t];
            sumDyCentered[ch] += laneDyXc[t];
            if (++within == s) {
                within = 0;
                ch++;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // element-wise passes and backward sums on segments: the loops above with segment loads and stores and long
    // byte offsets, element for element the same arithmetic. They are written twice rather than running the
    // arrays through MemorySegment.ofArray, because heap-segment access measured 5-10% slower in the backward
    // loops (JDK 25), and a shared loop behind an interface would not inline.

    /** Byte offset of element (i, ch, 0) of a tensor at float offset {@code offset}. */
    private static long runAt(long offset, int i, int c, int ch, int s) {
        return (offset + ((long) i * c + ch) * s) * Float.BYTES;
    }

    @Override
    public void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        if (AffineRuns.applies(s)) {
            affineAlongRuns(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        } else {
            affineAcrossPositions(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        }
    }

    private static void affineAlongRuns(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int bound = F.loopBound(s);
        for (int i = 0; i < n; i++) {
            for (int ch = c0; ch < c1; ch++) {
                // AffineRuns' arithmetic, for the same bits as the array path.
                FloatVector hi = FloatVector.broadcast(F, centerHi[ch]);
                FloatVector a = FloatVector.broadcast(F, scale[ch]);
                FloatVector b = FloatVector.broadcast(F, (float) (shift[ch] - (double) centerLo[ch] * scale[ch]));
                long in = runAt(xOffset, i, c, ch, s);
                long out = runAt(yOffset, i, c, ch, s);
                int j = 0;
                for (; j < bound; j += L) {
                    long at = (long) j * Float.BYTES;
                    FloatVector.fromMemorySegment(F, x, in + at, NATIVE).sub(hi).fma(a, b)
                            .intoMemorySegment(y, out + at, NATIVE);
                }
                if (j < s) {
                    VectorMask<Float> m = F.indexInRange(j, s);
                    long at = (long) j * Float.BYTES;
                    FloatVector.fromMemorySegment(F, x, in + at, NATIVE, m).sub(hi).fma(a, b)
                            .intoMemorySegment(y, out + at, NATIVE, m);
                }
            }
        }
    }

    private static void affineAcrossPositions(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n,
            int c, int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int width = (c1 - c0) * s;
        Scratch scratch = SCRATCH.get();
        float[] hiP = perPosition(centerHi, c0, c1, s, scratch.floats(5, width));
        float[] loP = perPosition(centerLo, c0, c1, s, scratch.floats(6, width));
        float[] aP = perPosition(scale, c0, c1, s, scratch.floats(7, width));
        float[] bP = perPosition(shift, c0, c1, s, scratch.floats(8, width));
        int bound = F.loopBound(width);
        for (int i = 0; i < n; i++) {
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(yOffset, i, c, c0, s);
            int q = 0;
            for (; q < bound; q += L) {
                long at = (long) q * Float.BYTES;
                FloatVector.fromMemorySegment(F, x, in + at, NATIVE)
                        .sub(FloatVector.fromArray(F, hiP, q))
                        .sub(FloatVector.fromArray(F, loP, q))
                        .fma(FloatVector.fromArray(F, aP, q), FloatVector.fromArray(F, bP, q))
                        .intoMemorySegment(y, out + at, NATIVE);
            }
            if (q < width) {
                VectorMask<Float> m = F.indexInRange(q, width);
                long at = (long) q * Float.BYTES;
                FloatVector.fromMemorySegment(F, x, in + at, NATIVE, m)
                        .sub(FloatVector.fromArray(F, hiP, q, m))
                        .sub(FloatVector.fromArray(F, loP, q, m))
                        .fma(FloatVector.fromArray(F, aP, q, m), FloatVector.fromArray(F, bP, q, m))
                        .intoMemorySegment(y, out + at, NATIVE, m);
            }
        }
    }

    @Override
    public void gradientInput(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx,
            long dxOffset, int n, int c, int s, int c0, int c1, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        if (GradientRuns.applies(s)) {
            gradientInputAlongRuns(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
        } else {
            gradientInputAcrossPositions(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
        }
    }

    private static void gradientInputAlongRuns(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            MemorySegment dx, long dxOffset, int n, int c, int s, int c0, int c1, float[] center,
            double[] dyScale, double[] centeredScale, double[] shift) {
        int bound = FH.loopBound(s);
        for (int ch = c0; ch < c1; ch++) {
            DoubleVector m = DoubleVector.broadcast(D, center[ch]);
            DoubleVector a = DoubleVector.broadcast(D, dyScale[ch]);
            DoubleVector b = DoubleVector.broadcast(D, centeredScale[ch]);
            DoubleVector d = DoubleVector.broadcast(D, shift[ch]);
            for (int i = 0; i < n; i++) {
                long g = runAt(dyOffset, i, c, ch, s);
                long in = runAt(xOffset, i, c, ch, s);
                long out = runAt(dxOffset, i, c, ch, s);
                int j = 0;
                for (; j < bound; j += DL) {
                    long at = (long) j * Float.BYTES;
                    DoubleVector xc = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)).sub(m);
                    narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE)).mul(a).sub(xc.fma(b, d)))
                            .intoMemorySegment(dx, out + at, NATIVE);
                }
                if (j < s) {
                    VectorMask<Float> k = FH.indexInRange(j, s);
                    long at = (long) j * Float.BYTES;
                    DoubleVector xc = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)).sub(m);
                    narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k)).mul(a)
                            .sub(xc.fma(b, d))).intoMemorySegment(dx, out + at, NATIVE, k);
                }
            }
        }
    }

    private static void gradientInputAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, MemorySegment dx, long dxOffset, int n, int c, int s, int c0, int c1, float[] center,
            double[] dyScale, double[] centeredScale, double[] shift) {
        int width = (c1 - c0) * s;
        Scratch scratch = SCRATCH.get();
        double[] mP = widenedPerPosition(center, c0, c1, s, scratch.doubles(3, width));
        double[] aP = perPosition(dyScale, c0, c1, s, scratch.doubles(4, width));
        double[] bP = perPosition(centeredScale, c0, c1, s, scratch.doubles(5, width));
        double[] dP = perPosition(shift, c0, c1, s, scratch.doubles(6, width));
        int bound = FH.loopBound(width);
        for (int i = 0; i < n; i++) {
            long g = runAt(dyOffset, i, c, c0, s);
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(dxOffset, i, c, c0, s);
            int q = 0;
            for (; q < bound; q += DL) {
                long at = (long) q * Float.BYTES;
                DoubleVector xc = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE))
                        .sub(DoubleVector.fromArray(D, mP, q));
                narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE))
                        .mul(DoubleVector.fromArray(D, aP, q))
                        .sub(xc.fma(DoubleVector.fromArray(D, bP, q), DoubleVector.fromArray(D, dP, q))))
                        .intoMemorySegment(dx, out + at, NATIVE);
            }
            if (q < width) {
                VectorMask<Float> k = FH.indexInRange(q, width);
                VectorMask<Double> kd = D.indexInRange(q, width);
                long at = (long) q * Float.BYTES;
                DoubleVector xc = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k))
                        .sub(DoubleVector.fromArray(D, mP, q, kd));
                narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k))
                        .mul(DoubleVector.fromArray(D, aP, q, kd))
                        .sub(xc.fma(DoubleVector.fromArray(D, bP, q, kd), DoubleVector.fromArray(D, dP, q, kd))))
                        .intoMemorySegment(dx, out + at, NATIVE, k);
            }
        }
    }

    @Override
    public void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        if (GradientRuns.applies(s)) {
            for (int ch = c0; ch < c1; ch++) {
                sumsOfChannel(dy, dyOffset, x, xOffset, n, c, s, ch, center[ch], sumDy, sumDyCentered);
            }
        } else {
            sumsAcrossPositions(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
        }
    }

    private static void sumsAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n,
            int c, int s, int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        DoubleVector zero = DoubleVector.zero(D);
        int width = (c1 - c0) * s;
        Scratch scratch = SCRATCH.get();
        double[] mP = widenedPerPosition(center, c0, c1, s, scratch.doubles(3, width));
        for (int ch = c0; ch < c1; ch++) {
            sumDy[ch] = 0;
            sumDyCentered[ch] = 0;
        }
        double[] laneDy = scratch.doubles(4, 4 * DL);
        double[] laneDyXc = scratch.doubles(5, 4 * DL);
        long half = (long) DL * Float.BYTES;
        int q = 0;
        for (int wide = width - width % (4 * DL); q < wide; q += 4 * DL) {
            DoubleVector m0 = DoubleVector.fromArray(D, mP, q);
            DoubleVector m1 = DoubleVector.fromArray(D, mP, q + DL);
            DoubleVector m2 = DoubleVector.fromArray(D, mP, q + 2 * DL);
            DoubleVector m3 = DoubleVector.fromArray(D, mP, q + 3 * DL);
            long at = (long) q * Float.BYTES;
            DoubleVector g0 = zero, g1 = zero, g2 = zero, g3 = zero, h0 = zero, h1 = zero, h2 = zero, h3 = zero;
            for (int i = 0; i < n; i++) {
                long g = runAt(dyOffset, i, c, c0, s) + at;
                long in = runAt(xOffset, i, c, c0, s) + at;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g, NATIVE));
                DoubleVector a1 = widen(FloatVector.fromMemorySegment(FH, dy, g + half, NATIVE));
                DoubleVector a2 = widen(FloatVector.fromMemorySegment(FH, dy, g + 2 * half, NATIVE));
                DoubleVector a3 = widen(FloatVector.fromMemorySegment(FH, dy, g + 3 * half, NATIVE));
                g0 = g0.add(a0);
                g1 = g1.add(a1);
                g2 = g2.add(a2);
                g3 = g3.add(a3);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in, NATIVE)).sub(m0), h0);
                h1 = a1.fma(widen(FloatVector.fromMemorySegment(FH, x, in + half, NATIVE)).sub(m1), h1);
                h2 = a2.fma(widen(FloatVector.fromMemorySegment(FH, x, in + 2 * half, NATIVE)).sub(m2), h2);
                h3 = a3.fma(widen(FloatVector.fromMemorySegment(FH, x, in + 3 * half, NATIVE)).sub(m3), h3);
            }
            storeLanes(g0, g1, g2, g3, laneDy);
            storeLanes(h0, h1, h2, h3, laneDyXc);
            addLanes(laneDy, laneDyXc, 4 * DL, c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
        for (; q < width; q += DL) {
            VectorMask<Float> k = FH.indexInRange(q, width);
            DoubleVector m = DoubleVector.fromArray(D, mP, q, D.indexInRange(q, width));
            long at = (long) q * Float.BYTES;
            DoubleVector g0 = zero, h0 = zero;
            for (int i = 0; i < n; i++) {
                DoubleVector a = widen(FloatVector.fromMemorySegment(FH, dy, runAt(dyOffset, i, c, c0, s) + at,
                        NATIVE, k));
                g0 = g0.add(a);
                h0 = a.fma(widen(FloatVector.fromMemorySegment(FH, x, runAt(xOffset, i, c, c0, s) + at, NATIVE, k))
                        .sub(m), h0);
            }
            g0.intoArray(laneDy, 0);
            h0.intoArray(laneDyXc, 0);
            addLanes(laneDy, laneDyXc, Math.min(DL, width - q), c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
    }

    private static void sumsOfChannel(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c,
            int s, int ch, float center, double[] sumDy, double[] sumDyCentered) {
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector m = DoubleVector.broadcast(D, center);
        DoubleVector g0 = zero, g1 = zero, h0 = zero, h1 = zero;
        int pairs = s - s % (2 * DL);
        long half = (long) DL * Float.BYTES;
        for (int i = 0; i < n; i++) {
            long g = runAt(dyOffset, i, c, ch, s);
            long in = runAt(xOffset, i, c, ch, s);
            int j = 0;
            for (; j < pairs; j += 2 * DL) {
                long at = (long) j * Float.BYTES;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE));
                DoubleVector a1 = widen(FloatVector.fromMemorySegment(FH, dy, g + at + half, NATIVE));
                g0 = g0.add(a0);
                g1 = g1.add(a1);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)).sub(m), h0);
                h1 = a1.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at + half, NATIVE)).sub(m), h1);
            }
            for (; j < s; j += DL) {
                VectorMask<Float> k = FH.indexInRange(j, s);
                long at = (long) j * Float.BYTES;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k));
                g0 = g0.add(a0);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)).sub(m), h0);
            }
        }
        sumDy[ch] = g0.add(g1).reduceLanes(VectorOperators.ADD);
        sumDyCentered[ch] = h0.add(h1).reduceLanes(VectorOperators.ADD);
    }

    private static DoubleVector widen(FloatVector v) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
    }

    private static FloatVector narrow(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FH, 0);
    }

    private static double[] perPosition(double[] perChannel, int c0, int c1, int s, double[] out) {
        if (s == 1) {
            System.arraycopy(perChannel, c0, out, 0, c1 - c0);
            return out;
        }
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            double v = perChannel[ch];
            for (int j = 0; j < s; j++) {
                out[k++] = v;
            }
        }
        return out;
    }

    private static double[] widenedPerPosition(float[] perChannel, int c0, int c1, int s, double[] out) {
        int k = 0;
        for (int ch = c0; ch < c1; ch++) {
            double v = perChannel[ch];
            for (int j = 0; j < s; j++) {
                out[k++] = v;
            }
        }
        return out;
    }
}
