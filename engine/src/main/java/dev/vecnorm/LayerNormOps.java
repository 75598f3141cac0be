package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;

/**
 * Layer normalization ({@code torch.nn.LayerNorm}, {@code F.layer_norm}, ONNX LayerNormalization-17): each row
 * of the trailing dimensions from {@code axis} on is normalized with its own mean and biased variance, then
 * scaled and shifted element-wise: {@code y = (x - mean_r) / sqrt(var_r + eps) * gamma_j + beta_j}.
 *
 * <p>Built on the batch-norm kernels through views of the same memory: each row is one channel of the view
 * (1, R, D) for the statistics; normalize with gamma and beta is one row kernel, and backward a row kernel in
 * double ({@code RowPasses}, shared with {@link RMSNormOps}). Rows go in blocks ({@code RowBlocks}): in L2 for
 * the forward's two passes, and spread over a pool for large tensors, bitwise the same for any thread count. Arrays and MemorySegments, with the same bits.
 *
 * <p>As {@link BatchNormOps}, each call comes with a {@link Tensor} overload that returns new outputs and a raw
 * overload (arrays, offsets) that writes into the caller's arrays, for hot loops.
 */
public final class LayerNormOps {

    private final Backend backend;
    /** The passes, on the backend's kernels and the pool (null: the calling thread). */
    private final RowPasses passes;

    private LayerNormOps(Backend backend, ForkJoinPool pool) {
        this.backend = backend;
        this.passes = new RowPasses(backend.kernels(), pool, true);
    }

    /**
     * The best available kernels (Vector API when the module is readable, else the scalar reference), with large
     * tensors spread over the shared pool by blocks of rows.
     */
    public static LayerNormOps get() {
        return new LayerNormOps(Backend.preferred(), ParallelUnits.defaultPool());
    }

    /** The given implementation, e.g. {@link Backend#scalarReference()}, on the calling thread. */
    public static LayerNormOps using(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        return new LayerNormOps(backend, null);
    }

    /** The same operations, spreading large tensors over {@code pool}: bitwise the results of one thread. */
    public LayerNormOps parallel(ForkJoinPool pool) {
        if (pool == null) {
            throw new IllegalArgumentException("pool must not be null");
        }
        return new LayerNormOps(backend, pool);
    }

    /** The same operations on the calling thread only. */
    public LayerNormOps singleThreaded() {
        return new LayerNormOps(backend, null);
    }

    /** The implementation behind this instance. */
    public Backend backend() {
        return backend;
    }

    /** The kernels the passes run (the backend's). */
    BatchNormKernels kernels() {
        return passes.kernels();
    }

    /**
     * Forward. {@code gamma} and {@code beta} have the normalized size D (the product of {@code shape[axis:]})
     * or are null; {@code y} may be {@code x} at the same offset.
     *
     * @param axis the first normalized dimension; negative counts from the end (-1: the last dimension)
     * @param saveMean receives the R row means (R = product of {@code shape[:axis]}), or null
     * @param saveInvStd receives the R values {@code 1/sqrt(var + eps)}, or null
     * @throws IllegalArgumentException on a bad shape or axis, lengths, offsets, eps or overlap
     */
    public void forward(int[] shape, int axis, float[] x, int xOffset, float[] y, int yOffset, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        RowNormalization rn = RowNormalization.of(shape, axis);
        NcsShape rows = rn.perRow();
        Checks.tensor("x", x, xOffset, rows);
        Checks.tensor("y", y, yOffset, rows);
        Checks.length("gamma", gamma, rn.width(), "one per element of the normalized shape", true);
        Checks.length("beta", beta, rn.width(), "one per element of the normalized shape", true);
        Checks.length("saveMean", saveMean, rn.rows(), "one per row", true);
        Checks.length("saveInvStd", saveInvStd, rn.rows(), "one per row", true);
        Checks.epsilon(eps);
        Checks.regions().input("x", x, xOffset, rn.size()).output("y", y, yOffset, rn.size()).inPlace("y", "x")
                .input("gamma", gamma).input("beta", beta).output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd).check();
        passes.forward(rn, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd);
    }

    /**
     * {@link #forward(int[], int, float[], int, float[], int, float[], float[], double, float[], float[])} on
     * tensors in MemorySegments (off-heap or heap, any alignment; offsets count floats; more than 2^31 elements
     * if each row and the row count stay below 2^31). The bits of the array overload. {@code y} may be {@code x}
     * at the same offset. A segment confined to the calling thread keeps the call on that thread.
     *
     * @throws IllegalArgumentException on a bad shape or axis, ranges, lengths, eps, overlap or a read-only y
     */
    public void forward(int[] shape, int axis, MemorySegment x, long xOffset, MemorySegment y, long yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        RowNormalization rn = RowNormalization.ofSegments(shape, axis);
        long n = rn.elements();
        Checks.segmentForward(x, xOffset, y, yOffset, n);
        Checks.length("gamma", gamma, rn.width(), "one per element of the normalized shape", true);
        Checks.length("beta", beta, rn.width(), "one per element of the normalized shape", true);
        Checks.length("saveMean", saveMean, rn.rows(), "one per row", true);
        Checks.length("saveInvStd", saveInvStd, rn.rows(), "one per row", true);
        Checks.epsilon(eps);
        Checks.regions().input("gamma", gamma).input("beta", beta).output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd).check();
        if (SegmentPasses.onArrays(x, y, null)) {
            float[] xArray = SegmentPasses.backingArray(x);
            float[] yArray = SegmentPasses.backingArray(y);
            forward(shape, axis, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, beta, eps, saveMean, saveInvStd);
            return;
        }
        passes.forward(rn, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd);
    }

    /**
     * Forward of {@code x} normalized over its dimensions from {@code axis} on, into a new tensor, with the row
     * statistics saved for {@link #backward(Tensor, Tensor, int, float[], SavedStatistics)}.
     *
     * @throws IllegalArgumentException as the raw overload, on a channels-last or null tensor, or a null affine
     */
    public Normalized forward(Tensor x, int axis, Affine affine, double eps) {
        BatchNormChecks.requireTensor("x", x);
        x.requireChannelsFirst("LayerNorm");
        BatchNormChecks.requireAffine(affine);
        int rows = RowNormalization.of(x.shapeUnsafe(), axis).rows();
        Tensor y = x.zerosLike();
        SavedStatistics saved = new SavedStatistics(new float[rows], new float[rows]);
        forward(x.shapeUnsafe(), axis, x.data(), x.offset(), y.data(), y.offset(), affine.weight(), affine.bias(),
                eps, saved.mean(), saved.invStd());
        return new Normalized(y, saved);
    }

    /**
     * Backward after {@link #forward(Tensor, int, Affine, double)}: dx and the weight and bias gradients
     * (length D, the normalized size).
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree
     */
    public NormGradients backward(Tensor dy, Tensor x, int axis, float[] weight, SavedStatistics saved) {
        BatchNormChecks.requireTensor("x", x);
        x.requireChannelsFirst("LayerNorm");
        x.requireSameShape("x", "dy", dy);
        if (saved == null) {
            throw new IllegalArgumentException("saved must not be null");
        }
        int width = RowNormalization.of(x.shapeUnsafe(), axis).width();
        NormGradients g = new NormGradients(x.zerosLike(), new float[width], new float[width]);
        backward(x.shapeUnsafe(), axis, dy.data(), dy.offset(), x.data(), x.offset(), weight, saved.mean(),
                saved.invStd(), g.dx().data(), 0, g.dWeight(), g.dBias());
        return g;
    }

    /**
     * Backward from the forward's saved statistics: dx, and dgamma, dbeta (length D). Outputs may be null;
     * {@code dx} must not overlap {@code dy} or {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape or axis, lengths, offsets, a negative or NaN saved inverse
     *     std, or overlap
     */
    public void backward(int[] shape, int axis, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        RowNormalization rn = RowNormalization.of(shape, axis);
        NcsShape rows = rn.perRow();
        int r = rn.rows();
        int d = rn.width();
        Checks.tensor("dy", dy, dyOffset, rows);
        Checks.tensor("x", x, xOffset, rows);
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, rows);
        }
        Checks.length("gamma", gamma, d, "one per element of the normalized shape", true);
        Checks.length("saveMean", saveMean, r, "one per row", false);
        Checks.length("saveInvStd", saveInvStd, r, "one per row", false);
        Checks.nonNegative("saveInvStd", saveInvStd);
        Checks.length("dgamma", dgamma, d, "one per element of the normalized shape", true);
        Checks.length("dbeta", dbeta, d, "one per element of the normalized shape", true);
        Checks.regions().input("dy", dy, dyOffset, rn.size()).input("x", x, xOffset, rn.size())
                .output("dx", dx, dxOffset, rn.size()).input("gamma", gamma).input("saveMean", saveMean)
                .input("saveInvStd", saveInvStd).output("dgamma", dgamma).output("dbeta", dbeta).check();
        passes.backward(rn, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgamma, dbeta);
    }

    /**
     * {@link #backward(int[], int, float[], int, float[], int, float[], float[], float[], float[], int, float[],
     * float[])} on tensors in MemorySegments (offsets count floats); the bits of the array overload. {@code dx}
     * may be null and must not overlap {@code dy} or {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape or axis, ranges, lengths, a negative or NaN saved inverse
     *     std, overlap or a read-only dx
     */
    public void backward(int[] shape, int axis, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset, float[] dgamma,
            float[] dbeta) {
        RowNormalization rn = RowNormalization.ofSegments(shape, axis);
        long n = rn.elements();
        int d = rn.width();
        Checks.segmentGradients(dy, dyOffset, x, xOffset, dx, dxOffset, n, false);
        Checks.length("gamma", gamma, d, "one per element of the normalized shape", true);
        Checks.length("saveMean", saveMean, rn.rows(), "one per row", false);
        Checks.length("saveInvStd", saveInvStd, rn.rows(), "one per row", false);
        Checks.nonNegative("saveInvStd", saveInvStd);
        Checks.length("dgamma", dgamma, d, "one per element of the normalized shape", true);
        Checks.length("dbeta", dbeta, d, "one per element of the normalized shape", true);
        Checks.regions().input("gamma", gamma).input("saveMean", saveMean).input("saveInvStd", saveInvStd)
                .output("dgamma", dgamma).output("dbeta", dbeta).check();
        if (SegmentPasses.onArrays(dy, x, dx)) {
            float[] dyArray = SegmentPasses.backingArray(dy);
            float[] xArray = SegmentPasses.backingArray(x);
            float[] dxArray = SegmentPasses.backingArray(dx);
            backward(shape, axis, dyArray, SegmentPasses.arrayOffset(dy, dyOffset), xArray,
                    SegmentPasses.arrayOffset(x, xOffset), gamma, saveMean, saveInvStd, dxArray,
                    dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma, dbeta);
            return;
        }
        passes.backward(rn, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgamma, dbeta);
    }
}
