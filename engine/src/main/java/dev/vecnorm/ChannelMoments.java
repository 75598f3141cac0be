package dev.vecnorm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Per-channel moments of a set of values: the count (shared by every channel), the mean and M2 (the sum of
 * squared deviations from the mean) of each channel, in double. Immutable.
 *
 * <p>Moments of disjoint parts merge with {@link #merge} (Chan et al.'s parallel formula) into the moments of the
 * union, so statistics of a dataset can be computed piece by piece, on many machines, and combined; merging in
 * a fixed order gives the same bits every time. {@link #toBytes()} is a compact, versioned, little-endian form for
 * sending or storing them.
 *
 * <p>{@link #of(Layout, int[], float[], int)} computes them from a tensor with the engine's statistics pass.
 */
public final class ChannelMoments {

    /** "VNCM" read as a little-endian int: the first four bytes of {@link #toBytes()}. */
    private static final int MAGIC = 'V' | 'N' << 8 | 'C' << 16 | 'M' << 24;
    /** Version of the binary form written by this class. */
    public static final byte FORMAT_VERSION = 1;
    /** Bytes before the doubles: magic, version, channels, count. */
    private static final int HEADER_BYTES = 4 + 1 + 4 + 8;

    private final long count;
    private final double[] mean;
    private final double[] m2;

    private ChannelMoments(long count, double[] mean, double[] m2) {
        this.count = count;
        this.mean = mean;
        this.m2 = m2;
    }

    /**
     * The moments of no values: count 0, mean and M2 0. The identity of {@link #merge}.
     *
     * @throws IllegalArgumentException if {@code channels < 1}
     */
    public static ChannelMoments empty(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        }
        return new ChannelMoments(0, new double[channels], new double[channels]);
    }

    /**
     * Moments from their parts (copied).
     *
     * @throws IllegalArgumentException if an array is null or empty, their lengths differ, count is negative, an
     *     M2 is negative, or count is 0 with a nonzero mean or M2
     */
    public static ChannelMoments of(long count, double[] mean, double[] m2) {
        if (mean == null || m2 == null) {
            throw new IllegalArgumentException("mean and m2 must not be null");
        }
        if (mean.length < 1 || mean.length != m2.length) {
            throw new IllegalArgumentException("mean has length " + mean.length + " and m2 has length " + m2.length
                    + "; both must be the channel count, at least 1");
        }
        double[] meanCopy = mean.clone();
        double[] m2Copy = m2.clone();
        validate(count, meanCopy, m2Copy);
        return new ChannelMoments(count, meanCopy, m2Copy);
    }

    /** From the kernels' biased variance: M2 = variance * count. Takes ownership of the arrays. */
    static ChannelMoments fromVariance(long count, double[] mean, double[] variance) {
        for (int ch = 0; ch < variance.length; ch++) {
            variance[ch] *= count;
        }
        return new ChannelMoments(count, mean, variance);
    }

    /**
     * The moments of a tensor of logical shape (N, C, spatial...) in {@code layout}, computed by
     * {@link BatchNormOps#get()}; see {@link BatchNormOps#moments(Layout, int[], float[], int)}.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, or an offset or length that does not fit
     */
    public static ChannelMoments of(Layout layout, int[] shape, float[] x, int xOffset) {
        return BatchNormOps.get().moments(layout, shape, x, xOffset);
    }

    /**
     * The moments of a tensor in a segment (offset in floats); see
     * {@link BatchNormOps#moments(Layout, int[], MemorySegment, long)}.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, or a range that does not fit the segment
     */
    public static ChannelMoments of(Layout layout, int[] shape, MemorySegment x, long xOffset) {
        return BatchNormOps.get().moments(layout, shape, x, xOffset);
    }

    private static void validate(long count, double[] mean, double[] m2) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        for (int ch = 0; ch < mean.length; ch++) {
            // NaN is allowed: it is what data with NaNs gives, and it must survive a round trip.
            if (m2[ch] < 0) {
                throw new IllegalArgumentException("m2[" + ch + "] must be >= 0, got " + m2[ch]);
            }
            if (count == 0 && (mean[ch] != 0 || m2[ch] != 0)) {
                throw new IllegalArgumentException("count is 0 but channel " + ch + " has mean " + mean[ch]
                        + " and m2 " + m2[ch] + "; moments of no values are 0");
            }
        }
    }

    /**
     * The moments of the union of the values behind {@code this} and {@code other} (Chan's formula, per channel).
     * An empty side returns the other side unchanged, so empty parts never perturb a result. The arithmetic is
     * fixed, so merging the same parts in the same order always gives the same bits; another order agrees within
     * rounding.
     *
     * @throws IllegalArgumentException if other is null or has a different channel count
     */
    public ChannelMoments merge(ChannelMoments other) {
        if (other == null) {
            throw new IllegalArgumentException("other must not be null");
        }
        if (other.mean.length != mean.length) {
            throw new IllegalArgumentException("cannot merge moments of " + mean.length + " channels with moments of "
                    + other.mean.length + " channels");
        }
        if (other.count == 0) {
            return this;
        }
        if (count == 0) {
            return other;
        }
        long total = Math.addExact(count, other.count);
        double na = count;
        double nb = other.count;
        double weightB = nb / total;
        double cross = na * nb / total;
        double[] mergedMean = new double[mean.length];
        double[] mergedM2 = new double[mean.length];
        for (int ch = 0; ch < mean.length; ch++) {
            double delta = other.mean[ch] - mean[ch];
            mergedMean[ch] = mean[ch] + delta * weightB;
            mergedM2[ch] = m2[ch] + other.m2[ch] + delta * delta * cross;
        }
        return new ChannelMoments(total, mergedMean, mergedM2);
    }

    /**
     * Merges {@code parts} left to right (the order fixes the bits).
     *
     * @throws IllegalArgumentException if parts is null or empty, holds null, or channel counts differ
     */
    public static ChannelMoments mergeAll(Iterable<ChannelMoments> parts) {
        if (parts == null) {
            throw new IllegalArgumentException("parts must not be null");
        }
        ChannelMoments result = null;
        for (ChannelMoments part : parts) {
            if (part == null) {
                throw new IllegalArgumentException("parts must not hold null");
            }
            result = result == null ? part : result.merge(part);
        }
        if (result == null) {
            throw new IllegalArgumentException("parts must not be empty: its channel count would be unknown");
        }
        return result;
    }

    /** Number of channels. */
    public int channels() {
        return mean.length;
    }

    /** Number of values per channel (the same for every channel). */
    public long count() {
        return count;
    }

    /** Per-channel mean (a copy); zeros when the count is 0. */
    public double[] mean() {
        return mean.clone();
    }

    /** Mean of one channel. */
    public double mean(int channel) {
        return mean[channel];
    }

    /** Per-channel sum of squared deviations from the mean (a copy). */
    public double[] m2() {
        return m2.clone();
    }

    /** M2 of one channel. */
    public double m2(int channel) {
        return m2[channel];
    }

    /**
     * Biased (population) variance per channel, M2 / count.
     *
     * @throws IllegalStateException if the count is 0
     */
    public double[] variance() {
        return divided(0);
    }

    /**
     * Unbiased (sample) variance per channel, M2 / (count - 1).
     *
     * @throws IllegalStateException if the count is below 2
     */
    public double[] unbiasedVariance() {
        return divided(1);
    }

    /**
     * Biased standard deviation per channel, sqrt(M2 / count).
     *
     * @throws IllegalStateException if the count is 0
     */
    public double[] std() {
        return sqrt(variance());
    }

    /**
     * Unbiased standard deviation per channel, sqrt(M2 / (count - 1)).
     *
     * @throws IllegalStateException if the count is below 2
     */
    public double[] unbiasedStd() {
        return sqrt(unbiasedVariance());
    }

    private double[] divided(int bessel) {
        if (count <= bessel) {
            throw new IllegalStateException("a" + (bessel == 1 ? "n unbiased" : "") + " variance needs more than "
                    + bessel + " values per channel, these moments have " + count);
        }
        double[] out = new double[mean.length];
        double divisor = count - bessel;
        for (int ch = 0; ch < out.length; ch++) {
            out[ch] = m2[ch] / divisor;
        }
        return out;
    }

    private static double[] sqrt(double[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.sqrt(values[i]);
        }
        return values;
    }

    /**
     * Running statistics holding these moments as the framework keeps them after one batch with momentum 1: the
     * mean, and the variance that {@code convention} averages (PyTorch: unbiased, ONNX: biased).
     *
     * @param momentum the momentum the returned statistics carry for later updates
     * @throws IllegalArgumentException on a null convention or a momentum outside [0, 1]
     * @throws IllegalStateException if the count is too small for the convention's variance
     */
    public RunningStats toRunningStats(RunningStatsConvention convention, double momentum) {
        if (convention == null) {
            throw new IllegalArgumentException("convention must not be null");
        }
        float[] runningMean = new float[mean.length];
        float[] runningVar = new float[mean.length];
        double[] variance = convention == RunningStatsConvention.PYTORCH ? unbiasedVariance() : variance();
        for (int ch = 0; ch < mean.length; ch++) {
            runningMean[ch] = (float) mean[ch];
            runningVar[ch] = (float) variance[ch];
        }
        return new RunningStats(runningMean, runningVar, convention, momentum);
    }

    /**
     * Moves {@code running} by these moments as one batch, exactly as a training forward over that batch would
     * (SyncBatchNorm: every worker applies the same global moments and keeps the same running statistics).
     *
     * @throws IllegalArgumentException if running is null or its length is not the channel count
     * @throws IllegalStateException if the count is below 2
     */
    public void updateRunningStats(RunningStats running) {
        if (running == null) {
            throw new IllegalArgumentException("running must not be null");
        }
        Checks.channels("running mean", running.mean(), mean.length, false);
        if (count < 2) {
            throw new IllegalStateException("running statistics need more than 1 value per channel, got " + count);
        }
        double[] variance = variance();
        RunningStatsConvention convention = running.convention();
        float[] runningMean = running.mean();
        float[] runningVar = running.variance();
        for (int ch = 0; ch < mean.length; ch++) {
            runningMean[ch] = (float) convention.mix(runningMean[ch], mean[ch], running.momentum());
            runningVar[ch] = (float) convention.mix(runningVar[ch],
                    convention.varianceToAverage(variance[ch], count), running.momentum());
        }
    }

    /**
     * Sets a layer's running mean and (unbiased, as PyTorch keeps it) running variance to these moments: dataset
     * statistics for a layer used in eval mode.
     *
     * @throws IllegalArgumentException if the layer is null or its feature count is not the channel count
     * @throws IllegalStateException if the layer keeps no running statistics, or the count is below 2
     */
    public void applyTo(BatchNorm layer) {
        if (layer == null) {
            throw new IllegalArgumentException("layer must not be null");
        }
        if (layer.numFeatures() != mean.length) {
            throw new IllegalArgumentException("layer has " + layer.numFeatures() + " features, these moments have "
                    + mean.length + " channels");
        }
        RunningStats stats = toRunningStats(RunningStatsConvention.PYTORCH, 0.0);
        layer.setRunningMean(stats.mean());
        layer.setRunningVar(stats.variance());
    }

    /** Length in bytes of {@link #toBytes()} for {@code channels} channels. */
    public static int byteLength(int channels) {
        return HEADER_BYTES + 16 * channels;
    }

    /**
     * The binary form, little-endian: int magic "VNCM", byte version {@value #FORMAT_VERSION}, int channels, long
     * count, then the C means and the C M2s as doubles.
     */
    public byte[] toBytes() {
        ByteBuffer out = ByteBuffer.allocate(byteLength(mean.length)).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).put(FORMAT_VERSION).putInt(mean.length).putLong(count);
        for (double v : mean) {
            out.putDouble(v);
        }
        for (double v : m2) {
            out.putDouble(v);
        }
        return out.array();
    }

    /**
     * Reads {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if bytes is null, too short, of the wrong length for its channel count, has
     *     the wrong magic or an unknown version, or holds invalid moments (see {@link #of(long, double[], double[])})
     */
    public static ChannelMoments fromBytes(byte[] bytes) {
        if (bytes == null) {
            throw new IllegalArgumentException("bytes must not be null");
        }
        if (bytes.length < HEADER_BYTES) {
            throw new IllegalArgumentException("bytes has length " + bytes.length + ", shorter than the "
                    + HEADER_BYTES + "-byte header of ChannelMoments");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt();
        if (magic != MAGIC) {
            throw new IllegalArgumentException("bytes do not start with the ChannelMoments magic \"VNCM\", got 0x"
                    + Integer.toHexString(Integer.reverseBytes(magic)));
        }
        byte version = in.get();
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException("ChannelMoments format version " + version + " is not supported; "
                    + "this version reads " + FORMAT_VERSION);
        }
        int channels = in.getInt();
        if (channels < 1 || channels > (Integer.MAX_VALUE - HEADER_BYTES) / 16) {
            throw new IllegalArgumentException("bytes declare " + channels + " channels");
        }
        if (bytes.length != byteLength(channels)) {
            throw new IllegalArgumentException("bytes has length " + bytes.length + ", but " + channels
                    + " channels take " + byteLength(channels));
        }
        long count = in.getLong();
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        for (int ch = 0; ch < channels; ch++) {
            mean[ch] = in.getDouble();
        }
        for (int ch = 0; ch < channels; ch++) {
            m2[ch] = in.getDouble();
        }
        validate(count, mean, m2);
        return new ChannelMoments(count, mean, m2);
    }

    /** Equal when count, every mean and every M2 are equal bit for bit ({@link Double#equals} semantics). */
    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelMoments other && count == other.count && Arrays.equals(mean, other.mean)
                && Arrays.equals(m2, other.m2);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(count) + Arrays.hashCode(mean)) + Arrays.hashCode(m2);
    }

    @Override
    public String toString() {
        return "ChannelMoments[channels=" + mean.length + ", count=" + count + ", mean=" + Arrays.toString(mean)
                + ", m2=" + Arrays.toString(m2) + "]";
    }
}
