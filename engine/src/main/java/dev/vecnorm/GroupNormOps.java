package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
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
 * coefficients. Large tensors spread their samples over a pool (bitwise the same for any thread count); arrays
 * only.
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
        ParallelUnits.run(pool, d.n(), (long) d.n() * d.sampleSize(), (first, stride) -> forwardSamples(d, first,
                stride, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd));
    }

    /** Forward of samples first, first + stride, ... with this task's own scratch. */
    private void forwardSamples(Dims d, int first, int stride, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        int groups = d.groups();
        int c = d.c();
        int perGroupChannels = d.perGroupChannels();
        double[] mean = new double[groups];
        double[] variance = new double[groups];
        double[] channelMean = new double[c];
        double[] channelVariance = new double[c];
        float[] hi = new float[c];
        float[] lo = new float[c];
        float[] scale = new float[c];
        float[] shift = new float[c];
        for (int i = first; i < d.n(); i += stride) {
            int at = i * d.sampleSize();
            groupMoments(d, x, xOffset + at, mean, variance, channelMean, channelVariance);
            for (int g = 0; g < groups; g++) {
                double invStd = 1.0 / Math.sqrt(variance[g] + eps);
                float meanHi = (float) mean[g];
                for (int ch = g * perGroupChannels; ch < (g + 1) * perGroupChannels; ch++) {
                    hi[ch] = meanHi;
                    lo[ch] = (float) (mean[g] - meanHi);
                    scale[ch] = (float) ((gamma == null ? 1.0 : gamma[ch]) * invStd);
                    shift[ch] = beta == null ? 0f : beta[ch];
                }
                if (saveMean != null) {
                    saveMean[i * groups + g] = meanHi;
                }
                if (saveInvStd != null) {
                    saveInvStd[i * groups + g] = (float) invStd;
                }
            }
            kernels.affine(x, xOffset + at, y, yOffset + at, d.runs(), c, d.runLength(), 0, c, hi, lo, scale,
                    shift);
        }
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
        double[] dgPerSample = new double[d.n() * c];
        double[] dbPerSample = new double[d.n() * c];
        ParallelUnits.run(pool, d.n(), 2L * size, (first, stride) -> backwardSamples(d, first, stride, dy, dyOffset,
                x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgPerSample, dbPerSample));
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

    /** Backward of samples first, first + stride, ... with this task's own scratch. */
    private void backwardSamples(Dims d, int first, int stride, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, double[] dgPerSample,
            double[] dbPerSample) {
        int groups = d.groups();
        int c = d.c();
        int perGroupChannels = d.perGroupChannels();
        double m = (double) perGroupChannels * d.s();
        float[] center = new float[c];
        double[] sumDy = new double[c];
        double[] sumDyCentered = new double[c];
        double[] a = new double[groups];
        double[] b = new double[groups];
        double[] dyScale = new double[c];
        double[] centeredScale = new double[c];
        double[] shift = new double[c];
        for (int i = first; i < d.n(); i += stride) {
            int at = i * d.sampleSize();
            for (int ch = 0; ch < c; ch++) {
                center[ch] = saveMean[i * groups + ch / perGroupChannels];
            }
            kernels.gradientSums(dy, dyOffset + at, x, xOffset + at, d.runs(), c, d.runLength(), 0, c, center,
                    sumDy, sumDyCentered);
            // Per group: A = sum_c gamma_c sum(dy), B = sum_c gamma_c sum(dy (x - mean)).
            Arrays.fill(a, 0.0);
            Arrays.fill(b, 0.0);
            for (int ch = 0; ch < c; ch++) {
                double g = gamma == null ? 1.0 : gamma[ch];
                a[ch / perGroupChannels] += g * sumDy[ch];
                b[ch / perGroupChannels] += g * sumDyCentered[ch];
            }
            for (int ch = 0; ch < c; ch++) {
                int group = ch / perGroupChannels;
                double r = saveInvStd[i * groups + group];
                dyScale[ch] = (gamma == null ? 1.0 : gamma[ch]) * r;
                centeredScale[ch] = r * r * r * b[group] / m;
                shift[ch] = r * a[group] / m;
                dgPerSample[i * c + ch] = sumDyCentered[ch] * r;
                dbPerSample[i * c + ch] = sumDy[ch];
            }
            if (dx != null) {
                kernels.gradientInput(dy, dyOffset + at, x, xOffset + at, dx, dxOffset + at, d.runs(), c,
                        d.runLength(), 0, c, center, dyScale, centeredScale, shift);
            }
        }
    }

    @Override
    public String toString() {
        return "GroupNormOps[" + kernels.name() + "]";
    }
}
