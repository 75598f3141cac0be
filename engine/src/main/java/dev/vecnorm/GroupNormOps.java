package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;

/**
 * Group normalization ({@code torch.nn.GroupNorm}, {@code F.group_norm}) of (N, C, spatial...) tensors, channels
 * first or channels last: the C channels form G groups of C/G consecutive channels, each (sample, group) is
 * normalized with its own mean and variance, then each channel is scaled and shifted by its gamma and beta.
 * InstanceNorm is the case G = C.
 *
 * <p>Both layouts run one loop over samples on the batch-norm kernels, through a view of each sample's memory as
 * (runs, C, run length): channels-first (1, C, S), channels-last (S, C, 1), vectorized along a channel's
 * positions or across channels respectively, never transposed. A channels-first (sample, group) is contiguous,
 * so its statistics are one run of (C/G)*S; channels-last, the group's per-channel moments are merged (Chan's
 * formula with equal counts, in double). Normalize, backward sums and dx apply per-(sample, channel)
 * coefficients. Large tensors spread their samples over a pool (bitwise the same for any thread count). Arrays,
 * and MemorySegments (each sample staged through per-thread heap buffers: the same bits).
 *
 * <p>As {@link BatchNormOps}, each call comes with a {@link Tensor} overload that returns new outputs and a raw
 * overload (arrays, offsets) that writes into the caller's arrays, for hot loops.
 */
public final class GroupNormOps {

    private final Backend backend;
    private final BatchNormKernels kernels;
    /** Where samples run; null: on the calling thread. */
    private final ForkJoinPool pool;

    private GroupNormOps(Backend backend, ForkJoinPool pool) {
        this.backend = backend;
        this.kernels = backend.kernels();
        this.pool = pool;
    }

    /**
     * The best available kernels (Vector API when the module is readable, else the scalar reference), with large
     * tensors spread over the shared pool by sample.
     */
    public static GroupNormOps get() {
        return new GroupNormOps(Backend.preferred(), ParallelUnits.defaultPool());
    }

    /** The given implementation, e.g. {@link Backend#scalarReference()}, on the calling thread. */
    public static GroupNormOps using(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        return new GroupNormOps(backend, null);
    }

    /**
     * The same operations, spreading the samples of large tensors over {@code pool}. Results are bitwise those of
     * one thread: each sample is computed by one thread, and per-channel gradients are summed in sample order.
     */
    public GroupNormOps parallel(ForkJoinPool pool) {
        if (pool == null) {
            throw new IllegalArgumentException("pool must not be null");
        }
        return new GroupNormOps(backend, pool);
    }

    /** The same operations on the calling thread only. */
    public GroupNormOps singleThreaded() {
        return new GroupNormOps(backend, null);
    }

    /** The implementation behind this instance. */
    public Backend backend() {
        return backend;
    }

    /** The kernels the passes run (the backend's). */
    BatchNormKernels kernels() {
        return kernels;
    }

    /** The sizes: n, c, s of the tensor, g groups, and its layout. */
    private record Dims(int n, int c, int s, int groups, Layout layout) {
        int perGroupChannels() {
            return c / groups;
        }

        int sampleSize() {
            return c * s;
        }

        /** A sample seen as (runs, C, run length): its channels' positions as the kernels walk them. */
        int runs() {
            return layout == Layout.CHANNELS_FIRST ? 1 : s;
        }

        int runLength() {
            return layout == Layout.CHANNELS_FIRST ? s : 1;
        }
    }

    private static Dims check(Layout layout, int[] shape, int groups, float[] x, int xOffset, String xName,
            float[] y, int yOffset, String yName, float[] gamma, float[] beta, double eps) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        NcsShape sh = NcsShape.of(shape);
        checkGroups(sh.c(), groups);
        Checks.tensor(xName, x, xOffset, sh);
        Checks.tensor(yName, y, yOffset, sh);
        Checks.channels("gamma", gamma, sh.c(), true);
        Checks.channels("beta", beta, sh.c(), true);
        Checks.epsilon(eps);
        return new Dims(sh.n(), sh.c(), sh.s(), groups, layout);
    }

    private static void checkGroups(int c, int groups) {
        if (groups < 1 || c % groups != 0) {
            throw new IllegalArgumentException("groups must divide C = " + c + ", got groups = " + groups);
        }
    }

    /** As {@link #forward(Layout, int[], int, float[], int, float[], int, float[], float[], double, float[],
     * float[])} for a channels-first tensor. */
    public void forward(int[] shape, int groups, float[] x, int xOffset, float[] y, int yOffset, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        forward(Layout.CHANNELS_FIRST, shape, groups, x, xOffset, y, yOffset, gamma, beta, eps, saveMean,
                saveInvStd);
    }

    /**
     * Forward: {@code y = (x - mean_ng) / sqrt(var_ng + eps) * gamma_c + beta_c}, biased variance over each
     * (sample, group), of a tensor of logical shape (N, C, spatial...) stored in {@code layout}. {@code y} may be
     * {@code x} at the same offset.
     *
     * @param saveMean receives the N*G means (sample-major), or null
     * @param saveInvStd receives the N*G values {@code 1/sqrt(var + eps)}, or null
     * @throws IllegalArgumentException on a null layout, a bad shape, groups not dividing C, lengths, offsets, eps
     *     or overlap
     */
    public void forward(Layout layout, int[] shape, int groups, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        Dims d = check(layout, shape, groups, x, xOffset, "x", y, yOffset, "y", gamma, beta, eps);
        int ng = d.n() * groups;
        Checks.length("saveMean", saveMean, ng, "one per (sample, group)", true);
        Checks.length("saveInvStd", saveInvStd, ng, "one per (sample, group)", true);
        Checks.regions().input("x", x, xOffset, d.n() * d.sampleSize()).output("y", y, yOffset,
                d.n() * d.sampleSize()).inPlace("y", "x").input("gamma", gamma).input("beta", beta)
                .output("saveMean", saveMean).output("saveInvStd", saveInvStd).check();
        long elements = (long) d.n() * d.sampleSize();
        if (ParallelUnits.onCallingThread(pool, d.n(), elements)) {
            // Called directly, not through a capturing lambda (which escapes through the pool branch: ~100 B).
            forwardSamples(d, 0, 1, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd);
        } else {
            ParallelUnits.run(pool, d.n(), elements, (first, stride) -> forwardSamples(d, first, stride, x, xOffset,
                    y, yOffset, gamma, beta, eps, saveMean, saveInvStd));
        }
    }

    /** One task's per-sample arrays for the forward. */
    private static final class ForwardScratch implements PerThreadScratch.Sized {
        final double[] mean;
        final double[] variance;
        final double[] channelMean;
        final double[] channelVariance;
        final float[] hi;
        final float[] lo;
        final float[] scale;
        final float[] shift;

        ForwardScratch(int groups, int c) {
            mean = new double[groups];
            variance = new double[groups];
            channelMean = new double[c];
            channelVariance = new double[c];
            hi = new float[c];
            lo = new float[c];
            scale = new float[c];
            shift = new float[c];
        }

        @Override
        public boolean fits(int groups, int c) {
            return mean.length >= groups && hi.length >= c;
        }
    }

    private static final PerThreadScratch<ForwardScratch> FORWARD_SCRATCH =
            new PerThreadScratch<>(ForwardScratch::new);
    private static final PerThreadScratch<BackwardScratch> BACKWARD_SCRATCH =
            new PerThreadScratch<>(BackwardScratch::new);

    /** Forward of samples first, first + stride, ... with this task's own scratch. */
    private void forwardSamples(Dims d, int first, int stride, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        ForwardScratch scratch = FORWARD_SCRATCH.acquire(d.groups(), d.c());
        try {
            for (int i = first; i < d.n(); i += stride) {
                int at = i * d.sampleSize();
                forwardSample(d, i, scratch, x, xOffset + at, y, yOffset + at, gamma, beta, eps, saveMean,
                        saveInvStd);
            }
        } finally {
            FORWARD_SCRATCH.release(scratch);
        }
    }

    /** Sample i, whose x and y start at {@code xAt} and {@code yAt}: group statistics, then normalize. */
    private void forwardSample(Dims d, int i, ForwardScratch s, float[] x, int xAt, float[] y, int yAt,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        int groups = d.groups();
        int c = d.c();
        int perGroupChannels = d.perGroupChannels();
        groupMoments(d, x, xAt, s.mean, s.variance, s.channelMean, s.channelVariance);
        for (int g = 0; g < groups; g++) {
            double invStd = 1.0 / Math.sqrt(s.variance[g] + eps);
            float meanHi = (float) s.mean[g];
            for (int ch = g * perGroupChannels; ch < (g + 1) * perGroupChannels; ch++) {
                s.hi[ch] = meanHi;
                s.lo[ch] = (float) (s.mean[g] - meanHi);
                s.scale[ch] = (float) ((gamma == null ? 1.0 : gamma[ch]) * invStd);
                s.shift[ch] = beta == null ? 0f : beta[ch];
            }
            if (saveMean != null) {
                saveMean[i * groups + g] = meanHi;
            }
            if (saveInvStd != null) {
                saveInvStd[i * groups + g] = (float) invStd;
            }
        }
        kernels.affine(x, xAt, y, yAt, d.runs(), c, d.runLength(), 0, c, s.hi, s.lo, s.scale, s.shift);
    }

    /**
     * Mean and biased variance of each group of one sample. Channels-first, a group is one contiguous run of
     * (C/G)*S values; channels-last, its channels' moments over the sample's positions (vectorized across
     * channels) are merged: with equal counts, Chan's formula gives the mean of the means, and the mean of each
     * channel's variance plus its mean's squared distance to the group's.
     */
    private void groupMoments(Dims d, float[] x, int sampleOffset, double[] mean, double[] variance,
            double[] channelMean, double[] channelVariance) {
        int groups = d.groups();
        if (d.layout() == Layout.CHANNELS_FIRST) {
            kernels.moments(x, sampleOffset, 1, groups, d.perGroupChannels() * d.s(), 0, groups, mean, variance);
            return;
        }
        kernels.moments(x, sampleOffset, d.s(), d.c(), 1, 0, d.c(), channelMean, channelVariance);
        int perGroupChannels = d.perGroupChannels();
        for (int g = 0; g < groups; g++) {
            int c0 = g * perGroupChannels;
            double m = 0;
            for (int ch = c0; ch < c0 + perGroupChannels; ch++) {
                m += channelMean[ch];
            }
            m /= perGroupChannels;
            double v = 0;
            for (int ch = c0; ch < c0 + perGroupChannels; ch++) {
                double dm = channelMean[ch] - m;
                v += channelVariance[ch] + dm * dm;
            }
            mean[g] = m;
            variance[g] = v / perGroupChannels;
        }
    }

    /**
     * Forward of {@code x} (either layout) into a new tensor of its layout, with the N*G statistics saved for
     * {@link #backward(Tensor, Tensor, int, float[], SavedStatistics)}. Allocates; the raw overloads do not.
     *
     * @throws IllegalArgumentException as the raw overload, on a null tensor or a null affine
     */
    public Normalized forward(Tensor x, int groups, Affine affine, double eps) {
        BatchNormChecks.requireTensor("x", x);
        BatchNormChecks.requireAffine(affine);
        NcsShape sh = NcsShape.of(x.shapeUnsafe());
        checkGroups(sh.c(), groups);
        int statistics = sh.n() * groups;
        Tensor y = x.zerosLike();
        SavedStatistics saved = new SavedStatistics(new float[statistics], new float[statistics]);
        forward(x.layout(), x.shapeUnsafe(), groups, x.data(), x.offset(), y.data(), y.offset(), affine.weight(),
                affine.bias(), eps, saved.mean(), saved.invStd());
        return new Normalized(y, saved);
    }

    /**
     * Backward after {@link #forward(Tensor, int, Affine, double)}: dx (in x's layout) and the per-channel weight
     * and bias gradients.
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree in shape or layout
     */
    public NormGradients backward(Tensor dy, Tensor x, int groups, float[] weight, SavedStatistics saved) {
        BatchNormChecks.requireTensor("x", x);
        x.requireSameShape("x", "dy", dy);
        if (saved == null) {
            throw new IllegalArgumentException("saved must not be null");
        }
        int c = NcsShape.of(x.shapeUnsafe()).c();
        NormGradients g = new NormGradients(x.zerosLike(), new float[c], new float[c]);
        backward(x.layout(), x.shapeUnsafe(), groups, dy.data(), dy.offset(), x.data(), x.offset(), weight,
                saved.mean(), saved.invStd(), g.dx().data(), 0, g.dWeight(), g.dBias());
        return g;
    }

    /** As {@link #backward(Layout, int[], int, float[], int, float[], int, float[], float[], float[], float[],
     * int, float[], float[])} for channels-first tensors. */
    public void backward(int[] shape, int groups, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        backward(Layout.CHANNELS_FIRST, shape, groups, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                dxOffset, dgamma, dbeta);
    }

    /**
     * Backward from the forward's saved statistics: dx, and dgamma, dbeta per channel, for tensors of logical
     * shape (N, C, spatial...) stored in {@code layout}. {@code dx} may be {@code dy} or {@code x} at the same
     * offset; any output may be null.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, groups not dividing C, lengths, offsets, a
     *     negative or NaN saved inverse std, or overlap
     */
    public void backward(Layout layout, int[] shape, int groups, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma,
            float[] dbeta) {
        Dims d = check(layout, shape, groups, x, xOffset, "x", dy, dyOffset, "dy", gamma, null, 0.0);
        int ng = d.n() * groups;
        int c = d.c();
        int size = d.n() * d.sampleSize();
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, NcsShape.of(shape));
        }
        Checks.length("saveMean", saveMean, ng, "one per (sample, group)", false);
        Checks.length("saveInvStd", saveInvStd, ng, "one per (sample, group)", false);
        Checks.nonNegative("saveInvStd", saveInvStd);
        Checks.channels("dgamma", dgamma, c, true);
        Checks.channels("dbeta", dbeta, c, true);
        Checks.regions().input("dy", dy, dyOffset, size).input("x", x, xOffset, size).output("dx", dx, dxOffset,
                size).inPlace("dx", "dy").inPlace("dx", "x").input("gamma", gamma).input("saveMean", saveMean)
                .input("saveInvStd", saveInvStd).output("dgamma", dgamma).output("dbeta", dbeta).check();
        int perGroupChannels = d.perGroupChannels();
        // Each sample's share of dgamma and dbeta, summed in sample order after the tasks: any thread count
        // gives the bits of one.
        try (Workspace ws = Workspace.acquire()) {
            double[] dgPerSample = ws.doubles(Workspace.Doubles.SAMPLE_DGAMMA, d.n() * c);
            double[] dbPerSample = ws.doubles(Workspace.Doubles.SAMPLE_DBETA, d.n() * c);
            if (ParallelUnits.onCallingThread(pool, d.n(), 2L * size)) {
                backwardSamples(d, 0, 1, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset,
                        dgPerSample, dbPerSample);
            } else {
                ParallelUnits.run(pool, d.n(), 2L * size, (first, stride) -> backwardSamples(d, first, stride, dy,
                        dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgPerSample, dbPerSample));
            }
            storeParameterGradients(d, dgPerSample, dbPerSample, dgamma, dbeta);
        }
    }

    /** dgamma and dbeta: the samples' shares added in sample order, whatever thread computed each. */
    private static void storeParameterGradients(Dims d, double[] dgPerSample, double[] dbPerSample,
            float[] dgamma, float[] dbeta) {
        int c = d.c();
        for (int ch = 0; ch < c; ch++) {
            double dg = 0;
            double db = 0;
            for (int i = 0; i < d.n(); i++) {
                dg += dgPerSample[i * c + ch];
                db += dbPerSample[i * c + ch];
            }
            if (dgamma != null) {
                dgamma[ch] = (float) dg;
            }
            if (dbeta != null) {
                dbeta[ch] = (float) db;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // MemorySegments: each sample staged through the calling thread's heap buffers (copied in, the array code
    // above run on the buffers, copied out), so every bit is the array path's.

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The dims of a segment call; a sample (C*S floats) must fit an array, the tensor need not. */
    private static Dims checkSegments(Layout layout, int[] shape, int groups, MemorySegment x, long xOffset,
            String xName, MemorySegment y, long yOffset, String yName, float[] gamma, float[] beta, double eps) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        long[] ncs = NcsShape.reduce(shape);
        int c = (int) ncs[1];
        checkGroups(c, groups);
        if (ncs[1] * ncs[2] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": a sample holds more than "
                    + "2^31 - 1 elements");
        }
        Checks.segment(xName, x, xOffset, ncs[3], false);
        Checks.segment(yName, y, yOffset, ncs[3], yName.equals("y"));
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.epsilon(eps);
        return new Dims((int) ncs[0], c, (int) ncs[2], groups, layout);
    }

    /**
     * {@link #forward(Layout, int[], int, float[], int, float[], int, float[], float[], double, float[], float[])}
     * on tensors in MemorySegments (off-heap or heap, any alignment; offsets count floats; more than 2^31
     * elements if one sample holds fewer). The bits of the array overload; {@code y} may be {@code x} at the same
     * offset. A segment confined to the calling thread keeps the call on that thread.
     *
     * @throws IllegalArgumentException as the array overload, or on ranges, overlap or a read-only y
     */
    public void forward(Layout layout, int[] shape, int groups, MemorySegment x, long xOffset, MemorySegment y,
            long yOffset, float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        Dims d = checkSegments(layout, shape, groups, x, xOffset, "x", y, yOffset, "y", gamma, beta, eps);
        long total = (long) d.n() * d.sampleSize();
        Checks.segmentOverlap("y", y, yOffset, "x", x, xOffset, total, true);
        int ng = d.n() * groups;
        Checks.length("saveMean", saveMean, ng, "one per (sample, group)", true);
        Checks.length("saveInvStd", saveInvStd, ng, "one per (sample, group)", true);
        Checks.regions().input("gamma", gamma).input("beta", beta).output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd).check();
        if (SegmentPasses.onArrays(x, y, null)) {
            float[] xArray = SegmentPasses.backingArray(x);
            float[] yArray = SegmentPasses.backingArray(y);
            forward(layout, shape, groups, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, beta, eps, saveMean, saveInvStd);
            return;
        }
        int sample = d.sampleSize();
        ForkJoinPool where = SegmentPasses.shareable(x, y) ? pool : null;
        ParallelUnits.run(where, d.n(), total, (first, stride) -> {
            ForwardScratch scratch = FORWARD_SCRATCH.acquire(d.groups(), d.c());
            try {
                for (int i = first; i < d.n(); i += stride) {
                    long at = (long) i * sample;
                    float[] buffer = Staging.copyIn(0, x, xOffset + at, sample);
                    forwardSample(d, i, scratch, buffer, 0, buffer, 0, gamma, beta, eps, saveMean, saveInvStd);
                    MemorySegment.copy(buffer, 0, y, FLOAT, (yOffset + at) * Float.BYTES, sample);
                }
            } finally {
                FORWARD_SCRATCH.release(scratch);
            }
        });
    }

    /**
     * {@link #backward(Layout, int[], int, float[], int, float[], int, float[], float[], float[], float[], int,
     * float[], float[])} on tensors in MemorySegments (offsets count floats); the bits of the array overload.
     * {@code dx} may be null, or {@code dy} or {@code x} at the same offset.
     *
     * @throws IllegalArgumentException as the array overload, or on ranges, overlap or a read-only dx
     */
    public void backward(Layout layout, int[] shape, int groups, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        Dims d = checkSegments(layout, shape, groups, x, xOffset, "x", dy, dyOffset, "dy", gamma, null, 0.0);
        long total = (long) d.n() * d.sampleSize();
        int c = d.c();
        int ng = d.n() * groups;
        if (dx != null) {
            Checks.segment("dx", dx, dxOffset, total, true);
            Checks.segmentOverlap("dx", dx, dxOffset, "dy", dy, dyOffset, total, true);
            Checks.segmentOverlap("dx", dx, dxOffset, "x", x, xOffset, total, true);
        }
        Checks.length("saveMean", saveMean, ng, "one per (sample, group)", false);
        Checks.length("saveInvStd", saveInvStd, ng, "one per (sample, group)", false);
        Checks.nonNegative("saveInvStd", saveInvStd);
        Checks.channels("dgamma", dgamma, c, true);
        Checks.channels("dbeta", dbeta, c, true);
        Checks.regions().input("gamma", gamma).input("saveMean", saveMean).input("saveInvStd", saveInvStd)
                .output("dgamma", dgamma).output("dbeta", dbeta).check();
        if (SegmentPasses.onArrays(dy, x, dx)) {
            float[] dyArray = SegmentPasses.backingArray(dy);
            float[] xArray = SegmentPasses.backingArray(x);
            float[] dxArray = SegmentPasses.backingArray(dx);
            backward(layout, shape, groups, dyArray, SegmentPasses.arrayOffset(dy, dyOffset), xArray,
                    SegmentPasses.arrayOffset(x, xOffset), gamma, saveMean, saveInvStd, dxArray,
                    dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma, dbeta);
            return;
        }
        try (Workspace ws = Workspace.acquire()) {
            double[] dgPerSample = ws.doubles(Workspace.Doubles.SAMPLE_DGAMMA, d.n() * c);
            double[] dbPerSample = ws.doubles(Workspace.Doubles.SAMPLE_DBETA, d.n() * c);
            backwardStaged(d, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgPerSample,
                    dbPerSample);
            storeParameterGradients(d, dgPerSample, dbPerSample, dgamma, dbeta);
        }
    }

    /** The segment backward: each sample staged through this thread's buffers, run by the array code. */
    private void backwardStaged(Dims d, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset,
            double[] dgPerSample, double[] dbPerSample) {
        int c = d.c();
        int sample = d.sampleSize();
        long total = (long) d.n() * sample;
        ForkJoinPool where = SegmentPasses.shareable(dy, x, dx) ? pool : null;
        ParallelUnits.run(where, d.n(), 2 * total, (first, stride) -> {
            BackwardScratch scratch = BACKWARD_SCRATCH.acquire(d.groups(), c);
            try {
                for (int i = first; i < d.n(); i += stride) {
                    long at = (long) i * sample;
                    float[] stagedDy = Staging.copyIn(0, dy, dyOffset + at, sample);
                    float[] stagedX = Staging.copyIn(1, x, xOffset + at, sample);
                    float[] stagedDx = dx == null ? null : Staging.buffer(2, sample);
                    backwardSample(d, i, scratch, stagedDy, 0, stagedX, 0, gamma, saveMean, saveInvStd, stagedDx,
                            0, dgPerSample, dbPerSample);
                    if (dx != null) {
                        MemorySegment.copy(stagedDx, 0, dx, FLOAT, (dxOffset + at) * Float.BYTES, sample);
                    }
                }
            } finally {
                BACKWARD_SCRATCH.release(scratch);
            }
        });
    }

    /** One task's per-sample arrays for the backward. */
    private static final class BackwardScratch implements PerThreadScratch.Sized {
        final float[] center;
        final double[] sumDy;
        final double[] sumDyCentered;
        final double[] a;
        final double[] b;
        final double[] dyScale;
        final double[] centeredScale;
        final double[] shift;

        BackwardScratch(int groups, int c) {
            center = new float[c];
            sumDy = new double[c];
            sumDyCentered = new double[c];
            a = new double[groups];
            b = new double[groups];
            dyScale = new double[c];
            centeredScale = new double[c];
            shift = new double[c];
        }

        @Override
        public boolean fits(int groups, int c) {
            return a.length >= groups && center.length >= c;
        }
    }

    /** Backward of samples first, first + stride, ... with this task's own scratch. */
    private void backwardSamples(Dims d, int first, int stride, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, double[] dgPerSample,
            double[] dbPerSample) {
        BackwardScratch scratch = BACKWARD_SCRATCH.acquire(d.groups(), d.c());
        try {
            for (int i = first; i < d.n(); i += stride) {
                int at = i * d.sampleSize();
                backwardSample(d, i, scratch, dy, dyOffset + at, x, xOffset + at, gamma, saveMean, saveInvStd, dx,
                        dxOffset + at, dgPerSample, dbPerSample);
            }
        } finally {
            BACKWARD_SCRATCH.release(scratch);
        }
    }

    /**
     * Sample i, whose dy, x and dx start at {@code dyAt}, {@code xAt}, {@code dxAt}. (Tried on 2026-12-04 and not
     * kept: both passes per block of whole groups of 512 KiB, so that dx reads dy and x from L2, as BatchNorm's
     * channel blocks do; the bits stay the same, but 2x512x32x32 backward went 0.45-0.48 -> 0.50-0.51 ms and
     * 8x256x64x64 6.7-7.3 -> 7.9-9.6 ms, and the forward in blocks was within noise;
     * bench/results/groupnorm-blocks-ab-2026-12-04.txt.)
     */
    private void backwardSample(Dims d, int i, BackwardScratch s, float[] dy, int dyAt, float[] x, int xAt,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxAt, double[] dgPerSample,
            double[] dbPerSample) {
        int groups = d.groups();
        int c = d.c();
        int perGroupChannels = d.perGroupChannels();
        double m = (double) perGroupChannels * d.s();
        for (int ch = 0; ch < c; ch++) {
            s.center[ch] = saveMean[i * groups + ch / perGroupChannels];
        }
        kernels.gradientSums(dy, dyAt, x, xAt, d.runs(), c, d.runLength(), 0, c, s.center, s.sumDy,
                s.sumDyCentered);
        // Per group: A = sum_c gamma_c sum(dy), B = sum_c gamma_c sum(dy (x - mean)).
        Arrays.fill(s.a, 0.0);
        Arrays.fill(s.b, 0.0);
        for (int ch = 0; ch < c; ch++) {
            double g = gamma == null ? 1.0 : gamma[ch];
            s.a[ch / perGroupChannels] += g * s.sumDy[ch];
            s.b[ch / perGroupChannels] += g * s.sumDyCentered[ch];
        }
        for (int ch = 0; ch < c; ch++) {
            int group = ch / perGroupChannels;
            double r = saveInvStd[i * groups + group];
            s.dyScale[ch] = (gamma == null ? 1.0 : gamma[ch]) * r;
            s.centeredScale[ch] = r * r * r * s.b[group] / m;
            s.shift[ch] = r * s.a[group] / m;
            dgPerSample[i * c + ch] = s.sumDyCentered[ch] * r;
            dbPerSample[i * c + ch] = s.sumDy[ch];
        }
        if (dx != null) {
            kernels.gradientInput(dy, dyAt, x, xAt, dx, dxAt, d.runs(), c, d.runLength(), 0, c, s.center,
                    s.dyScale, s.centeredScale, s.shift);
        }
    }

    @Override
    public String toString() {
        return "GroupNormOps[" + kernels.name() + "]";
    }
}
