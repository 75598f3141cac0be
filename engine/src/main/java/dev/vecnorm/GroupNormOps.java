package dev.vecnorm;

import dev.vecnorm.kernels.BatchNormKernels;
import dev.vecnorm.kernels.Kernels;

/**
 * Group normalization ({@code torch.nn.GroupNorm}, {@code F.group_norm}) of channels-first tensors
 * (N, C, spatial...): the C channels form G groups of C/G consecutive channels, each (sample, group) is
 * normalized with its own mean and variance, then each channel is scaled and shifted by its gamma and beta.
 * InstanceNorm is the case G = C.
 *
 * <p>Built on the batch-norm kernels through views of the same memory: a (sample, group) is contiguous, so its
 * statistics are one "channel" of the view (1, N*G, (C/G)*S); normalize, backward sums and dx run over the
 * view (1, N*C, S) with per-(sample, channel) coefficients. Single-threaded; arrays only.
 *
 * <p>As {@link BatchNormOps}, each call comes with a {@link Tensor} overload that returns new outputs and a raw
 * overload (arrays, offsets) that writes into the caller's arrays, for hot loops.
 */
public final class GroupNormOps {

    private final BatchNormKernels kernels;

    private GroupNormOps(BatchNormKernels kernels) {
        this.kernels = kernels;
    }

    /** The best available kernels (Vector API when the module is readable, else the scalar reference). */
    public static GroupNormOps get() {
        return new GroupNormOps(Kernels.preferred());
    }

    /** The given kernels, e.g. {@code Kernels.scalar()}. */
    public static GroupNormOps using(BatchNormKernels kernels) {
        if (kernels == null) {
            throw new IllegalArgumentException("kernels must not be null");
        }
        return new GroupNormOps(kernels);
    }

    /** The view sizes: n, c, s of the tensor and g groups. */
    private record Dims(int n, int c, int s, int groups) {
        int perGroup() {
            return c / groups * s;
        }
    }

    private static Dims check(int[] shape, int groups, float[] x, int xOffset, String xName, float[] y,
            int yOffset, String yName, float[] gamma, float[] beta, double eps) {
        NcsShape sh = NcsShape.of(shape);
        checkGroups(sh.c(), groups);
        Checks.tensor(xName, x, xOffset, sh);
        if (y != null) {
            Checks.tensor(yName, y, yOffset, sh);
        }
        Checks.channels("gamma", gamma, sh.c(), true);
        Checks.channels("beta", beta, sh.c(), true);
        Checks.epsilon(eps);
        return new Dims(sh.n(), sh.c(), sh.s(), groups);
    }

    private static void checkGroups(int c, int groups) {
        if (groups < 1 || c % groups != 0) {
            throw new IllegalArgumentException("groups must divide C = " + c + ", got groups = " + groups);
        }
    }

    /**
     * Forward: {@code y = (x - mean_ng) / sqrt(var_ng + eps) * gamma_c + beta_c}, biased variance over each
     * (sample, group). {@code y} may be {@code x} at the same offset.
     *
     * @param saveMean receives the N*G means (sample-major), or null
     * @param saveInvStd receives the N*G values {@code 1/sqrt(var + eps)}, or null
     * @throws IllegalArgumentException on a bad shape, groups not dividing C, lengths, offsets, eps or overlap
     */
    public void forward(int[] shape, int groups, float[] x, int xOffset, float[] y, int yOffset, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        Dims d = check(shape, groups, x, xOffset, "x", y, yOffset, "y", gamma, beta, eps);
        int ng = d.n() * groups;
        Checks.channels("saveMean", saveMean, ng, true);
        Checks.channels("saveInvStd", saveInvStd, ng, true);
        Checks.regions().input("x", x, xOffset, d.n() * d.c() * d.s()).output("y", y, yOffset,
                d.n() * d.c() * d.s()).inPlace("y", "x").input("gamma", gamma).input("beta", beta)
                .output("saveMean", saveMean).output("saveInvStd", saveInvStd).check();
        double[] mean = new double[ng];
        double[] variance = new double[ng];
        kernels.moments(x, xOffset, 1, ng, d.perGroup(), 0, ng, mean, variance);
        int nc = d.n() * d.c();
        float[] hi = new float[nc];
        float[] lo = new float[nc];
        float[] scale = new float[nc];
        float[] shift = new float[nc];
        int perGroupChannels = d.c() / groups;
        for (int i = 0; i < d.n(); i++) {
            for (int ch = 0; ch < d.c(); ch++) {
                int group = i * groups + ch / perGroupChannels;
                int k = i * d.c() + ch;
                double invStd = 1.0 / Math.sqrt(variance[group] + eps);
                hi[k] = (float) mean[group];
                lo[k] = (float) (mean[group] - hi[k]);
                scale[k] = (float) ((gamma == null ? 1.0 : gamma[ch]) * invStd);
                shift[k] = beta == null ? 0f : beta[ch];
            }
        }
        kernels.affine(x, xOffset, y, yOffset, 1, nc, d.s(), 0, nc, hi, lo, scale, shift);
        for (int g = 0; g < ng; g++) {
            if (saveMean != null) {
                saveMean[g] = (float) mean[g];
            }
            if (saveInvStd != null) {
                saveInvStd[g] = (float) (1.0 / Math.sqrt(variance[g] + eps));
            }
        }
    }

    /**
     * Forward of a channels-first tensor into a new one, with the N*G statistics saved for
     * {@link #backward(Tensor, Tensor, int, float[], SavedStatistics)}. Allocates; the raw overload does not.
     *
     * @throws IllegalArgumentException as the raw overload, on a channels-last or null tensor, or a null affine
     */
    public Normalized forward(Tensor x, int groups, Affine affine, double eps) {
        BatchNormOps.requireTensor("x", x);
        x.requireChannelsFirst("GroupNorm");
        BatchNormOps.requireAffine(affine);
        NcsShape sh = NcsShape.of(x.shapeUnsafe());
        checkGroups(sh.c(), groups);
        int statistics = sh.n() * groups;
        Tensor y = x.zerosLike();
        SavedStatistics saved = new SavedStatistics(new float[statistics], new float[statistics]);
        forward(x.shapeUnsafe(), groups, x.data(), x.offset(), y.data(), y.offset(), affine.weight(),
                affine.bias(), eps, saved.mean(), saved.invStd());
        return new Normalized(y, saved);
    }

    /**
     * Backward after {@link #forward(Tensor, int, Affine, double)}: dx and the per-channel weight and bias
     * gradients.
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree
     */
    public NormGradients backward(Tensor dy, Tensor x, int groups, float[] weight, SavedStatistics saved) {
        BatchNormOps.requireTensor("x", x);
        x.requireChannelsFirst("GroupNorm");
        x.requireSameShape("x", "dy", dy);
        if (saved == null) {
            throw new IllegalArgumentException("saved must not be null");
        }
        int c = NcsShape.of(x.shapeUnsafe()).c();
        NormGradients g = new NormGradients(x.zerosLike(), new float[c], new float[c]);
        backward(x.shapeUnsafe(), groups, dy.data(), dy.offset(), x.data(), x.offset(), weight, saved.mean(),
                saved.invStd(), g.dx().data(), 0, g.dWeight(), g.dBias());
        return g;
    }

    /**
     * Backward from the forward's saved statistics: dx, and dgamma, dbeta per channel. {@code dx} may be
     * {@code dy} or {@code x} at the same offset; any output may be null.
     *
     * @throws IllegalArgumentException on a bad shape, groups not dividing C, lengths, offsets, a negative or NaN
     *     saved inverse std, or overlap
     */
    public void backward(int[] shape, int groups, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        Dims d = check(shape, groups, x, xOffset, "x", dy, dyOffset, "dy", gamma, null, 0.0);
        int ng = d.n() * groups;
        int nc = d.n() * d.c();
        int size = nc * d.s();
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, NcsShape.of(shape));
        }
        Checks.channels("saveMean", saveMean, ng, false);
        Checks.channels("saveInvStd", saveInvStd, ng, false);
        Checks.nonNegative("saveInvStd", saveInvStd);
        Checks.channels("dgamma", dgamma, d.c(), true);
        Checks.channels("dbeta", dbeta, d.c(), true);
        Checks.regions().input("dy", dy, dyOffset, size).input("x", x, xOffset, size).output("dx", dx, dxOffset,
                size).inPlace("dx", "dy").inPlace("dx", "x").input("gamma", gamma).input("saveMean", saveMean)
                .input("saveInvStd", saveInvStd).output("dgamma", dgamma).output("dbeta", dbeta).check();
        int perGroupChannels = d.c() / groups;
        float[] center = new float[nc];
        for (int k = 0; k < nc; k++) {
            center[k] = saveMean[(k / d.c()) * groups + (k % d.c()) / perGroupChannels];
        }
        double[] sumDy = new double[nc];
        double[] sumDyCentered = new double[nc];
        kernels.gradientSums(dy, dyOffset, x, xOffset, 1, nc, d.s(), 0, nc, center, sumDy, sumDyCentered);
        // Per (sample, group): A = sum_c gamma_c sum(dy), B = sum_c gamma_c sum(dy (x - mean)).
        double[] a = new double[ng];
        double[] b = new double[ng];
        for (int k = 0; k < nc; k++) {
            int ch = k % d.c();
            int group = (k / d.c()) * groups + ch / perGroupChannels;
            double g = gamma == null ? 1.0 : gamma[ch];
            a[group] += g * sumDy[k];
            b[group] += g * sumDyCentered[k];
        }
        if (dx != null) {
            double m = d.perGroup();
            double[] dyScale = new double[nc];
            double[] centeredScale = new double[nc];
            double[] shift = new double[nc];
            for (int k = 0; k < nc; k++) {
                int ch = k % d.c();
                int group = (k / d.c()) * groups + ch / perGroupChannels;
                double r = saveInvStd[group];
                dyScale[k] = (gamma == null ? 1.0 : gamma[ch]) * r;
                centeredScale[k] = r * r * r * b[group] / m;
                shift[k] = r * a[group] / m;
            }
            kernels.gradientInput(dy, dyOffset, x, xOffset, dx, dxOffset, 1, nc, d.s(), 0, nc, center, dyScale,
                    centeredScale, shift);
        }
        if (dgamma != null || dbeta != null) {
            double[] dg = new double[d.c()];
            double[] db = new double[d.c()];
            for (int k = 0; k < nc; k++) {
                int ch = k % d.c();
                int group = (k / d.c()) * groups + ch / perGroupChannels;
                dg[ch] += sumDyCentered[k] * saveInvStd[group];
                db[ch] += sumDy[k];
            }
            for (int ch = 0; ch < d.c(); ch++) {
                if (dgamma != null) {
                    dgamma[ch] = (float) dg[ch];
                }
                if (dbeta != null) {
                    dbeta[ch] = (float) db[ch];
                }
            }
        }
    }

    @Override
    public String toString() {
        return "GroupNormOps[" + kernels.name() + "]";
    }
}
