package dev.vecnorm;

import dev.vecnorm.kernels.BatchNormKernels;
import dev.vecnorm.kernels.Kernels;

/**
 * RMS normalization (LLaMA's {@code x * rsqrt(mean(x^2) + eps) * w}, ONNX RMSNormalization-23): each row of the
 * trailing dimensions from {@code axis} on is divided by its root mean square, then scaled element-wise.
 *
 * <p>{@code mean(x^2)} comes from the row's mean and variance in double ({@code var + mean^2}, a sum of two
 * non-negative terms: no cancellation). Built on the batch-norm kernels like {@link LayerNormOps}.
 * Single-threaded; arrays only.
 *
 * <p>As {@link BatchNormOps}, each call comes with a {@link Tensor} overload that returns new outputs and a raw
 * overload (arrays, offsets) that writes into the caller's arrays, for hot loops.
 */
public final class RMSNormOps {

    private final BatchNormKernels kernels;

    private RMSNormOps(BatchNormKernels kernels) {
        this.kernels = kernels;
    }

    /** The best available kernels (Vector API when the module is readable, else the scalar reference). */
    public static RMSNormOps get() {
        return new RMSNormOps(Kernels.preferred());
    }

    /** The given kernels, e.g. {@code Kernels.scalar()}. */
    public static RMSNormOps using(BatchNormKernels kernels) {
        if (kernels == null) {
            throw new IllegalArgumentException("kernels must not be null");
        }
        return new RMSNormOps(kernels);
    }

    /**
     * Forward: {@code y = x / sqrt(mean(x^2) + eps) * gamma_j}. {@code gamma} has the normalized size D or is
     * null; {@code y} may be {@code x} at the same offset.
     *
     * @param axis the first normalized dimension; negative counts from the end
     * @param saveInvRms receives the R values {@code 1/sqrt(mean(x^2) + eps)}, or null
     * @throws IllegalArgumentException on a bad shape or axis, lengths, offsets, eps or overlap
     */
    public void forward(int[] shape, int axis, float[] x, int xOffset, float[] y, int yOffset, float[] gamma,
            double eps, float[] saveInvRms) {
        RowNormalization rn = RowNormalization.of(shape, axis);
        Checks.tensor("x", x, xOffset, rn.perRow());
        Checks.tensor("y", y, yOffset, rn.perRow());
        Checks.channels("gamma", gamma, rn.width(), true);
        Checks.channels("saveInvRms", saveInvRms, rn.rows(), true);
        Checks.epsilon(eps);
        Checks.regions().input("x", x, xOffset, rn.size()).output("y", y, yOffset, rn.size()).inPlace("y", "x")
                .input("gamma", gamma).output("saveInvRms", saveInvRms).check();
        int r = rn.rows();
        double[] mean = new double[r];
        double[] variance = new double[r];
        kernels.moments(x, xOffset, 1, r, rn.width(), 0, r, mean, variance);
        float[] scale = new float[r];
        for (int k = 0; k < r; k++) {
            scale[k] = (float) (1.0 / Math.sqrt(variance[k] + mean[k] * mean[k] + eps));
            if (saveInvRms != null) {
                saveInvRms[k] = scale[k];
            }
        }
        float[] zero = new float[r];
        kernels.affine(x, xOffset, y, yOffset, 1, r, rn.width(), 0, r, zero, zero, scale, zero);
        ElementAffine.apply(kernels, rn, y, yOffset, gamma, null);
    }

    /**
     * Forward of {@code x} over its dimensions from {@code axis} on, into a new tensor, with the inverse RMS of
     * each row saved (as {@link SavedStatistics#invStd()}; no mean) for
     * {@link #backward(Tensor, Tensor, int, float[], SavedStatistics)}.
     *
     * @throws IllegalArgumentException as the raw overload, or on a channels-last or null tensor
     */
    public Normalized forward(Tensor x, int axis, float[] weight, double eps) {
        BatchNormOps.requireTensor("x", x);
        x.requireChannelsFirst("RMSNorm");
        int rows = RowNormalization.of(x.shapeUnsafe(), axis).rows();
        Tensor y = x.zerosLike();
        SavedStatistics saved = new SavedStatistics(null, new float[rows]);
        forward(x.shapeUnsafe(), axis, x.data(), x.offset(), y.data(), y.offset(), weight, eps, saved.invStd());
        return new Normalized(y, saved);
    }

    /**
     * Backward after {@link #forward(Tensor, int, float[], double)}: dx and the weight gradient (length D); the
     * bias gradient is null (RMSNorm has no bias).
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree
     */
    public NormGradients backward(Tensor dy, Tensor x, int axis, float[] weight, SavedStatistics saved) {
        BatchNormOps.requireTensor("x", x);
        x.requireChannelsFirst("RMSNorm");
        x.requireSameShape("x", "dy", dy);
        if (saved == null) {
            throw new IllegalArgumentException("saved must not be null");
        }
        int width = RowNormalization.of(x.shapeUnsafe(), axis).width();
        NormGradients g = new NormGradients(x.zerosLike(), new float[width], null);
        backward(x.shapeUnsafe(), axis, dy.data(), dy.offset(), x.data(), x.offset(), weight, saved.invStd(),
                g.dx().data(), 0, g.dWeight());
        return g;
    }

    /**
     * Backward from the saved inverse RMS: {@code dx = r g - x r^3 sum(g x) / D} with {@code g = dy * gamma},
     * and dgamma (length D). Outputs may be null; {@code dx} must not overlap {@code dy} or {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape or axis, lengths, offsets, a negative or NaN saved value,
     *     or overlap
     */
    public void backward(int[] shape, int axis, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveInvRms, float[] dx, int dxOffset, float[] dgamma) {
        RowNormalization rn = RowNormalization.of(shape, axis);
        int r = rn.rows();
        int d = rn.width();
        Checks.tensor("dy", dy, dyOffset, rn.perRow());
        Checks.tensor("x", x, xOffset, rn.perRow());
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, rn.perRow());
        }
        Checks.channels("gamma", gamma, d, true);
        Checks.channels("saveInvRms", saveInvRms, r, false);
        Checks.nonNegative("saveInvRms", saveInvRms);
        Checks.channels("dgamma", dgamma, d, true);
        Checks.regions().input("dy", dy, dyOffset, rn.size()).input("x", x, xOffset, rn.size())
                .output("dx", dx, dxOffset, rn.size()).input("gamma", gamma).input("saveInvRms", saveInvRms)
                .output("dgamma", dgamma).check();
        // Scalar double loops, as LayerNormOps' backward: g = dy * gamma stays in double (the two terms of dx can
        // cancel to 1e-4 of themselves). Not vectorized yet.
        double[] dg = new double[d];
        for (int k = 0; k < r; k++) {
            double inv = saveInvRms[k];
            int row = k * d;
            double b = 0;
            for (int j = 0; j < d; j++) {
                double xv = x[xOffset + row + j];
                b += (double) dy[dyOffset + row + j] * (gamma == null ? 1.0 : gamma[j]) * xv;
                dg[j] += dy[dyOffset + row + j] * xv * inv;
            }
            if (dx != null) {
                double centered = inv * inv * inv * b / d;
                for (int j = 0; j < d; j++) {
                    double g = (double) dy[dyOffset + row + j] * (gamma == null ? 1.0 : gamma[j]);
                    dx[dxOffset + row + j] = (float) (inv * g - x[xOffset + row + j] * centered);
                }
            }
        }
        if (dgamma != null) {
            for (int j = 0; j < d; j++) {
                dgamma[j] = (float) dg[j];
            }
        }
    }
}
