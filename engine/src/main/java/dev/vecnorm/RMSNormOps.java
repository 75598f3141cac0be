package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;

/**
 * RMS normalization (LLaMA's {@code x * rsqrt(mean(x^2) + eps) * w}, ONNX RMSNormalization-23): each row of the
 * trailing dimensions from {@code axis} on is divided by its root mean square, then scaled element-wise.
 *
 * <p>{@code mean(x^2)} comes from the row's mean and variance in double ({@code var + mean^2}, a sum of two
 * non-negative terms: no cancellation). Built on the batch-norm kernels like {@link LayerNormOps}, in the same
 * row blocks (in L2 for the forward; spread over a pool for large tensors, bitwise the same for any thread
 * count); backward is the row kernel's uncentered form ({@code RowPasses}, shared with LayerNorm). Arrays and
 * MemorySegments, with the same bits.
 *
 * <p>As {@link BatchNormOps}, each call comes with a {@link Tensor} overload that returns new outputs and a raw
 * overload (arrays, offsets) that writes into the caller's arrays, for hot loops.
 */
public final class RMSNormOps {

    private final Backend backend;
    /** The passes, on the backend's kernels and the pool (null: the calling thread). */
    private final RowPasses passes;

    private RMSNormOps(Backend backend, ForkJoinPool pool) {
        this.backend = backend;
        this.passes = new RowPasses(backend.kernels(), pool, false);
    }

    /**
     * The best available kernels (Vector API when the module is readable, else the scalar reference), with large
     * tensors spread over the shared pool by blocks of rows.
     */
    public static RMSNormOps get() {
        return new RMSNormOps(Backend.preferred(), ParallelUnits.defaultPool());
    }

    /** The given implementation, e.g. {@link Backend#scalarReference()}, on the calling thread. */
    public static RMSNormOps using(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        return new RMSNormOps(backend, null);
    }

    /** The same operations, spreading large tensors over {@code pool}: bitwise the results of one thread. */
    public RMSNormOps parallel(ForkJoinPool pool) {
        if (pool == null) {
            throw new IllegalArgumentException("pool must not be null");
        }
        return new RMSNormOps(backend, pool);
    }

    /** The same operations on the calling thread only. */
    public RMSNormOps singleThreaded() {
        return new RMSNormOps(backend, null);
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
        Checks.length("gamma", gamma, rn.width(), "one per element of the normalized shape", true);
        Checks.length("saveInvRms", saveInvRms, rn.rows(), "one per row", true);
        Checks.epsilon(eps);
        Checks.regions().input("x", x, xOffset, rn.size()).output("y", y, yOffset, rn.size()).inPlace("y", "x")
                .input("gamma", gamma).output("saveInvRms", saveInvRms).check();
        passes.forward(rn, x, xOffset, y, yOffset, gamma, null, eps, null, saveInvRms);
    }

    /**
     * {@link #forward(int[], int, float[], int, float[], int, float[], double, float[])} on tensors in
     * MemorySegments (off-heap or heap, any alignment; offsets count floats; more than 2^31 elements if each row
     * and the row count stay below 2^31). The bits of the array overload. {@code y} may be {@code x} at the same
     * offset. A segment confined to the calling thread keeps the call on that thread.
     *
     * @throws IllegalArgumentException on a bad shape or axis, ranges, lengths, eps, overlap or a read-only y
     */
    public void forward(int[] shape, int axis, MemorySegment x, long xOffset, MemorySegment y, long yOffset,
            float[] gamma, double eps, float[] saveInvRms) {
        RowNormalization rn = RowNormalization.ofSegments(shape, axis);
        long n = rn.elements();
        Checks.segmentForward(x, xOffset, y, yOffset, n);
        Checks.length("gamma", gamma, rn.width(), "one per element of the normalized shape", true);
        Checks.length("saveInvRms", saveInvRms, rn.rows(), "one per row", true);
        Checks.epsilon(eps);
        Checks.regions().input("gamma", gamma).output("saveInvRms", saveInvRms).check();
        if (SegmentPasses.onArrays(x, y, null)) {
            float[] xArray = SegmentPasses.backingArray(x);
            float[] yArray = SegmentPasses.backingArray(y);
            forward(shape, axis, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, eps, saveInvRms);
            return;
        }
        passes.forward(rn, x, xOffset, y, yOffset, gamma, null, eps, null, saveInvRms);
    }

    /**
     * Forward of {@code x} over its dimensions from {@code axis} on, into a new tensor, with the inverse RMS of
     * each row saved (as {@link SavedStatistics#invStd()}; no mean) for
     * {@link #backward(Tensor, Tensor, int, float[], SavedStatistics)}.
     *
     * @throws IllegalArgumentException as the raw overload, or on a channels-last or null tensor
     */
    public Normalized forward(Tensor x, int axis, float[] weight, double eps) {
        BatchNormChecks.requireTensor("x", x);
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
        BatchNormChecks.requireTensor("x", x);
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
        Checks.length("gamma", gamma, d, "one per element of the normalized shape", true);
        Checks.length("saveInvRms", saveInvRms, r, "one per row", false);
        Checks.nonNegative("saveInvRms", saveInvRms);
        Checks.length("dgamma", dgamma, d, "one per element of the normalized shape", true);
        Checks.regions().input("dy", dy, dyOffset, rn.size()).input("x", x, xOffset, rn.size())
                .output("dx", dx, dxOffset, rn.size()).input("gamma", gamma).input("saveInvRms", saveInvRms)
                .output("dgamma", dgamma).check();
        // The row kernel's uncentered form (no mean): g = dy * gamma stays in double, as in LayerNorm's backward
        // (the two terms of dx can cancel to 1e-4 of themselves).
        passes.backward(rn, dy, dyOffset, x, xOffset, gamma, null, saveInvRms, dx, dxOffset, dgamma, null);
    }

    /**
     * {@link #backward(int[], int, float[], int, float[], int, float[], float[], float[], int, float[])} on
     * tensors in MemorySegments (offsets count floats); the bits of the array overload. {@code dx} may be null
     * and must not overlap {@code dy} or {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape or axis, ranges, lengths, a negative or NaN saved value,
     *     overlap or a read-only dx
     */
    public void backward(int[] shape, int axis, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] gamma, float[] saveInvRms, MemorySegment dx, long dxOffset, float[] dgamma) {
        RowNormalization rn = RowNormalization.ofSegments(shape, axis);
        long n = rn.elements();
        int d = rn.width();
        Checks.segmentGradients(dy, dyOffset, x, xOffset, dx, dxOffset, n, false);
        Checks.length("gamma", gamma, d, "one per element of the normalized shape", true);
        Checks.length("saveInvRms", saveInvRms, rn.rows(), "one per row", false);
        Checks.nonNegative("saveInvRms", saveInvRms);
        Checks.length("dgamma", dgamma, d, "one per element of the normalized shape", true);
        Checks.regions().input("gamma", gamma).input("saveInvRms", saveInvRms).output("dgamma", dgamma).check();
        if (SegmentPasses.onArrays(dy, x, dx)) {
            float[] dyArray = SegmentPasses.backingArray(dy);
            float[] xArray = SegmentPasses.backingArray(x);
            float[] dxArray = SegmentPasses.backingArray(dx);
            backward(shape, axis, dyArray, SegmentPasses.arrayOffset(dy, dyOffset), xArray,
                    SegmentPasses.arrayOffset(x, xOffset), gamma, saveInvRms, dxArray,
                    dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma);
            return;
        }
        passes.backward(rn, dy, dyOffset, x, xOffset, gamma, null, saveInvRms, dx, dxOffset, dgamma, null);
    }
}
