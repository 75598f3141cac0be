package dev.vecnorm;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A batch-normalization layer with the behaviour of {@code torch.nn.BatchNorm1d/2d/3d}: learnable weight and
 * bias (when affine), running mean and variance with PyTorch's update rule (when tracking running stats),
 * train and eval modes, forward and backward.
 *
 * <p>In training mode (or in eval mode without running stats) the batch statistics normalize the input; with
 * tracking on, {@code numBatchesTracked} counts the batches and the running statistics move by {@code momentum},
 * or by {@code 1/numBatchesTracked} (a cumulative average) when momentum is null. In eval mode with tracking on,
 * the running statistics are used. {@link #backward} differentiates the last forward call.
 *
 * <p>Not thread-safe: one layer holds the state of one training step at a time. Backward reads the input of the
 * last forward call (the layer keeps a reference rather than a copy, which would cost a pass over the tensor on
 * every forward), so that array must not change in between. An eval-mode forward in place (y is x) leaves no
 * input: backward after it throws {@link IllegalStateException} rather than return a gradient computed from y.
 */
public final class BatchNorm extends NormLayer {

    private final int numFeatures;
    private final double eps;
    private final Double momentum;
    private final boolean affine;
    private final boolean trackRunningStats;
    private final BatchNormOps ops;

    private final RunningStatsConvention convention;
    private final float[] weight;
    private final float[] bias;
    private final float[] runningMean;
    private final float[] runningVar;
    private long numBatchesTracked;
    private boolean training = true;

    // What backward needs from the last forward call, beside NormLayer's lastShape and lastX.
    private MemorySegment lastXSegment;
    private long lastXSegmentOffset;
    private boolean lastUsedBatchStats;
    private final float[] savedMean;
    private final float[] savedInvStd;
    private final float[] frozenMean;
    private final float[] frozenVar;

    /** {@code BatchNorm(numFeatures)} with PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking stats. */
    public BatchNorm(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, true, true, BatchNormOps.get());
    }

    /**
     * @param momentum in [0, 1], or null for a cumulative moving average over {@code numBatchesTracked}
     * @throws IllegalArgumentException if numFeatures &lt; 1, eps is negative or NaN, or momentum is outside [0, 1]
     */
    public BatchNorm(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats) {
        this(numFeatures, eps, momentum, affine, trackRunningStats, BatchNormOps.get());
    }

    /** As the five-argument constructor, computing with the given operations (e.g. the scalar reference). */
    public BatchNorm(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats,
            BatchNormOps ops) {
        this(numFeatures, eps, momentum, affine, trackRunningStats, RunningStatsConvention.PYTORCH, ops);
    }

    /**
     * A layer with ONNX BatchNormalization's running statistics ({@link RunningStatsConvention#ONNX}):
     * {@code running = momentum * running + (1 - momentum) * batch} with the biased batch variance, as
     * {@code BatchNormalization} with {@code training_mode = 1} computes them (ONNX's default momentum is 0.9,
     * epsilon 1e-5). Affine and tracking running statistics, as ONNX's operator always is.
     *
     * @throws IllegalArgumentException if numFeatures &lt; 1, eps is negative or NaN, or momentum is outside [0, 1]
     */
    public static BatchNorm onnx(int numFeatures, double eps, double momentum) {
        return new BatchNorm(numFeatures, eps, momentum, true, true, RunningStatsConvention.ONNX,
                BatchNormOps.get());
    }

    private BatchNorm(int numFeatures, double eps, Double momentum, boolean affine, boolean trackRunningStats,
            RunningStatsConvention convention, BatchNormOps ops) {
        // Math.max: an invalid numFeatures is reported below, not as a NegativeArraySizeException here.
        super(affine ? filled(Math.max(numFeatures, 0), 1f) : null,
                affine ? new float[Math.max(numFeatures, 0)] : null);
        if (numFeatures < 1) {
            throw new IllegalArgumentException("numFeatures must be >= 1, got " + numFeatures);
        }
        Checks.epsilon(eps);
        if (momentum != null && !(momentum >= 0.0 && momentum <= 1.0)) {
            throw new IllegalArgumentException("momentum must be in [0, 1] or null, got " + momentum);
        }
        if (ops == null) {
            throw new IllegalArgumentException("ops must not be null");
        }
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.trackRunningStats = trackRunningStats;
        this.ops = ops;
        this.convention = convention;
        this.weight = affine ? parameters().get(0).value() : null;
        this.bias = affine ? parameters().get(1).value() : null;
        this.runningMean = trackRunningStats ? new float[numFeatures] : null;
        this.runningVar = trackRunningStats ? filled(numFeatures, 1f) : null;
        this.savedMean = new float[numFeatures];
        this.savedInvStd = new float[numFeatures];
        this.frozenMean = new float[numFeatures];
        this.frozenVar = new float[numFeatures];
    }

    /** Switches to training mode (batch statistics; running statistics are updated). Returns this. */
    public BatchNorm train() {
        training = true;
        return this;
    }

    /** Switches to eval mode (running statistics when tracked). Returns this. */
    public BatchNorm eval() {
        training = false;
        return this;
    }

    /** True in training mode (the default), false after {@link #eval()}. */
    public boolean isTraining() {
        return training;
    }

    /** Normalizes {@code x} of the given NCHW shape (C == numFeatures) into a new array. */
    public float[] forward(int[] shape, float[] x) {
        if (shape != null && shape.length >= 2 && shape[0] == 0) {
            forwardEmptyBatch(Layout.CHANNELS_FIRST, shape);
            return new float[0];
        }
        NcsShape sh = NcsShape.of(shape);
        if (x != null && x.length != sh.size()) {
            throw new IllegalArgumentException("x has " + x.length + " values, shape " + Arrays.toString(shape)
                    + " has " + sh.size());
        }
        float[] y = new float[sh.size()];
        forward(shape, x, 0, y, 0);
        return y;
    }

    /**
     * Normalizes {@code x} into {@code y}. When batch statistics are used (training), {@code y} must not overlap
     * {@code x}, since backward needs the input; in eval mode with running stats {@code y} may be {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape, C != numFeatures, offsets, aliasing, or a single value per
     *     channel in training
     */
    public void forward(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        forwardArrays(Layout.CHANNELS_FIRST, shape, x, xOffset, y, yOffset);
    }

    @Override
    void forwardChannelsLast(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        forwardArrays(Layout.CHANNELS_LAST, shape, x, xOffset, y, yOffset);
    }

    private void forwardArrays(Layout layout, int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        if (shape != null && shape.length >= 2 && shape[0] == 0) {
            forwardEmptyBatch(layout, shape);
            return;
        }
        NcsShape sh = NcsShape.of(shape);
        checkChannels(shape, sh.c());
        boolean overlap = x == y && xOffset < yOffset + sh.size() && yOffset < xOffset + sh.size();
        if (usesBatchStats()) {
            Checks.tensor("x", x, xOffset, sh);
            Checks.tensor("y", y, yOffset, sh);
            refuseInPlaceTraining(overlap);
            RunningStats running = runningForThisBatch();
            // Validates everything (including the single-value check) before writing anything.
            ops.forwardTraining(layout, shape, x, xOffset, y, yOffset, weight, bias, eps, savedMean, savedInvStd,
                    running);
            counted(running);
        } else {
            ops.forwardInference(layout, shape, x, xOffset, y, yOffset, weight, bias, runningMean, runningVar, eps);
            freezeStatistics();
        }
        remember(layout, shape, x, xOffset, null, 0, overlap);
    }

    /**
     * {@link #forward(int[], float[], int, float[], int)} on {@code MemorySegment}s (off-heap or heap, any
     * alignment; offsets count floats). The layer keeps the segment for backward, so it must stay alive and
     * unchanged until then.
     *
     * @throws IllegalArgumentException as the array overload, or on a range past a segment's end or a read-only y
     */
    public void forward(int[] shape, MemorySegment x, long xOffset, MemorySegment y, long yOffset) {
        if (shape != null && shape.length >= 2 && shape[0] == 0) {
            forwardEmptyBatch(Layout.CHANNELS_FIRST, shape);
            return;
        }
        long[] ncs = NcsShape.reduce(shape);
        checkChannels(shape, ncs[1]);
        Checks.segment("x", x, xOffset, ncs[3], false);
        Checks.segment("y", y, yOffset, ncs[3], true);
        boolean overlap = x.asSlice(xOffset * Float.BYTES, ncs[3] * Float.BYTES)
                .asOverlappingSlice(y.asSlice(yOffset * Float.BYTES, ncs[3] * Float.BYTES)).isPresent();
        if (usesBatchStats()) {
            refuseInPlaceTraining(overlap);
            RunningStats running = runningForThisBatch();
            ops.forwardTraining(shape, x, xOffset, y, yOffset, weight, bias, eps, savedMean, savedInvStd, running);
            counted(running);
        } else {
            ops.forwardInference(shape, x, xOffset, y, yOffset, weight, bias, runningMean, runningVar, eps);
            freezeStatistics();
        }
        remember(Layout.CHANNELS_FIRST, shape, null, 0, x, xOffset, overlap);
    }

    private void checkChannels(int[] shape, long c) {
        if (c != numFeatures) {
            throw new IllegalArgumentException("expected " + numFeatures + " channels, got input shape "
                    + Arrays.toString(shape));
        }
    }

    private boolean usesBatchStats() {
        return training || !trackRunningStats;
    }

    private static void refuseInPlaceTraining(boolean overlap) {
        if (overlap) {
            throw new IllegalArgumentException("y overlaps x: the layer keeps x for backward, so it does not "
                    + "normalize in place while using batch statistics");
        }
    }

    /** The running statistics this training batch moves, or null (eval, or not tracking). */
    private RunningStats runningForThisBatch() {
        if (!(training && trackRunningStats)) {
            return null;
        }
        double factor = momentum != null ? momentum : 1.0 / (numBatchesTracked + 1);
        return new RunningStats(runningMean, runningVar, convention, factor);
    }

    private void counted(RunningStats running) {
        if (running != null) {
            numBatchesTracked++;
        }
    }

    private void freezeStatistics() {
        System.arraycopy(runningMean, 0, frozenMean, 0, numFeatures);
        System.arraycopy(runningVar, 0, frozenVar, 0, numFeatures);
    }

    /**
     * What backward needs of a forward call. In eval mode y may be x: x is then gone, and a gradient from y would
     * be silently wrong (as PyTorch refuses backward through a tensor modified in place, this layer refuses it).
     */
    private void remember(Layout layout, int[] shape, float[] x, int xOffset, MemorySegment xSegment,
            long xSegmentOffset, boolean overlap) {
        remember(layout, shape, x, xOffset, overlap);
        lastXSegment = xSegment;
        lastXSegmentOffset = xSegmentOffset;
        lastUsedBatchStats = usesBatchStats();
    }

    /** Gradients of one backward call; {@code dWeight} and {@code dBias} are null when the layer is not affine. */
    public record Gradients(float[] dx, float[] dWeight, float[] dBias) {
    }

    /**
     * Backward of the last forward call, for the upstream gradient {@code dy} (same shape as that input).
     *
     * @throws IllegalStateException if no forward call came before
     * @throws IllegalArgumentException if dy does not fit the last input's shape
     */
    public Gradients backward(float[] dy) {
        requireForward();
        if (lastShape[0] == 0) {
            if (dy == null || dy.length != 0) {
                throw new IllegalArgumentException("dy must be empty after an empty batch, got "
                        + (dy == null ? "null" : dy.length + " values"));
            }
            return new Gradients(new float[0], affine ? new float[numFeatures] : null,
                    affine ? new float[numFeatures] : null);
        }
        int size = NcsShape.of(lastShape).size();
        if (dy == null || dy.length != size) {
            throw new IllegalArgumentException("dy must have " + size + " elements for shape "
                    + Arrays.toString(lastShape) + ", got " + (dy == null ? "null" : dy.length));
        }
        float[] dx = new float[size];
        float[] dWeight = affine ? new float[numFeatures] : null;
        float[] dBias = affine ? new float[numFeatures] : null;
        backward(dy, 0, dx, 0, dWeight, dBias);
        return new Gradients(dx, dWeight, dBias);
    }

    /**
     * Backward of the last forward call into caller-provided arrays ({@code dx} may be {@code dy}; the parameter
     * gradients may be null). {@code dWeight} and {@code dBias} are overwritten with this call's gradients; for
     * torch's accumulating {@code .grad}, see {@link #backwardAccumulate}.
     *
     * @throws IllegalStateException if no forward call came before
     */
    public void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight, float[] dBias) {
        requireForward();
        if (emptyBackward(dWeight, dBias)) {
            return;
        }
        if (lastXSegment != null) {
            // The input came in a segment: the arrays join it as heap segments (the same kernels run).
            backward(dy == null ? null : MemorySegment.ofArray(dy), dyOffset,
                    dx == null ? null : MemorySegment.ofArray(dx), dxOffset, dWeight, dBias);
            return;
        }
        if (lastUsedBatchStats) {
            ops.backward(lastLayout, lastShape, dy, dyOffset, lastX, lastXOffset, weight, savedMean,
                    savedInvStd, dx, dxOffset, dWeight, dBias);
        } else {
            ops.backwardFrozen(lastLayout, lastShape, dy, dyOffset, lastX, lastXOffset, weight, frozenMean,
                    frozenVar, eps, dx, dxOffset, dWeight, dBias);
        }
    }

    /**
     * {@link #backward(float[], int, float[], int, float[], float[])} on {@code MemorySegment}s (offsets count
     * floats), after a forward on arrays or on segments.
     *
     * @throws IllegalStateException if no forward call came before
     */
    public void backward(MemorySegment dy, long dyOffset, MemorySegment dx, long dxOffset, float[] dWeight,
            float[] dBias) {
        requireForward();
        if (emptyBackward(dWeight, dBias)) {
            return;
        }
        MemorySegment x = lastXSegment != null ? lastXSegment : MemorySegment.ofArray(lastX);
        long xOffset = lastXSegment != null ? lastXSegmentOffset : lastXOffset;
        if (lastUsedBatchStats) {
            ops.backward(lastLayout, lastShape, dy, dyOffset, x, xOffset, weight, savedMean, savedInvStd, dx,
                    dxOffset, dWeight, dBias);
        } else {
            ops.backwardFrozen(lastLayout, lastShape, dy, dyOffset, x, xOffset, weight, frozenMean, frozenVar,
                    eps, dx, dxOffset, dWeight, dBias);
        }
    }

    /** After an empty batch: zero parameter gradients, and true. */
    private boolean emptyBackward(float[] dWeight, float[] dBias) {
        if (lastShape[0] != 0) {
            return false;
        }
        Checks.channels("dWeight", dWeight, numFeatures, true);
        Checks.channels("dBias", dBias, numFeatures, true);
        if (dWeight != null) {
            Arrays.fill(dWeight, 0f);
        }
        if (dBias != null) {
            Arrays.fill(dBias, 0f);
        }
        return true;
    }

    /**
     * {@link #backwardAccumulate(float[], int, float[], int)} on {@code MemorySegment}s (offsets count floats).
     */
    public void backwardAccumulate(MemorySegment dy, long dyOffset, MemorySegment dx, long dxOffset) {
        backward(dy, dyOffset, dx, dxOffset, callWeightGrad(), callBiasGrad());
        addCallGradients();
    }

    @Override
    String name() {
        return "BatchNorm";
    }

    /** The rule the running statistics follow: PyTorch's, or ONNX's for a layer made by {@link #onnx}. */
    public RunningStatsConvention runningStatsConvention() {
        return convention;
    }

    /**
     * An empty batch (N = 0), as PyTorch allows it: an empty result, running statistics untouched, and a
     * backward that returns empty gradients (zero weight and bias gradients).
     */
    private void forwardEmptyBatch(Layout layout, int[] shape) {
        int[] one = shape.clone();
        one[0] = 1;
        checkChannels(shape, NcsShape.of(one).c());
        remember(layout, shape, new float[0], 0, null, 0, false);
    }

    /** Running mean 0, running variance 1, batch counter 0, as torch's {@code reset_running_stats()}. */
    public void resetRunningStats() {
        if (trackRunningStats) {
            Arrays.fill(runningMean, 0f);
            Arrays.fill(runningVar, 1f);
        }
        numBatchesTracked = 0;
    }

    /** {@link #resetRunningStats()}, then weight 1 and bias 0, as torch's {@code reset_parameters()}. */
    public void resetParameters() {
        resetRunningStats();
        if (affine) {
            Arrays.fill(weight, 1f);
            Arrays.fill(bias, 0f);
        }
    }

    /**
     * The layer in eval mode as a per-channel affine map: {@code scale = weight / sqrt(runningVar + eps)},
     * {@code shift = bias - runningMean * scale}, computed in double. This is what folding it into a
     * convolution or linear layer needs ({@link BatchNormFolding}).
     *
     * @throws IllegalStateException if the layer keeps no running statistics (it then normalizes with batch
     *     statistics in eval mode too, which no fixed map can do)
     */
    public ChannelAffine inferenceAffine() {
        if (!trackRunningStats) {
            throw new IllegalStateException("the layer keeps no running statistics (trackRunningStats = false):"
                    + " in eval mode it uses batch statistics, which no fixed per-channel map reproduces");
        }
        float[] scale = new float[numFeatures];
        float[] shift = new float[numFeatures];
        for (int ch = 0; ch < numFeatures; ch++) {
            double k = (affine ? weight[ch] : 1.0) / Math.sqrt((double) runningVar[ch] + eps);
            scale[ch] = (float) k;
            shift[ch] = (float) ((affine ? bias[ch] : 0.0) - runningMean[ch] * k);
        }
        return new ChannelAffine(scale, shift);
    }

    /** The number of channels C this layer normalizes. */
    public int numFeatures() {
        return numFeatures;
    }

    /** The value added to the variance before the square root. */
    public double eps() {
        return eps;
    }

    /**
     * The momentum, or null for a cumulative moving average: the new batch's weight under PyTorch's convention,
     * the old running value's under ONNX's ({@link #runningStatsConvention()}).
     */
    public Double momentum() {
        return momentum;
    }

    /** Whether the layer has a learnable weight and bias. */
    public boolean affine() {
        return affine;
    }

    /** Whether the layer keeps running statistics (and uses them in eval mode). */
    public boolean trackRunningStats() {
        return trackRunningStats;
    }

    /** A copy of the weight (gamma), or null when not affine. */
    public float[] weight() {
        return weight == null ? null : weight.clone();
    }

    /** A copy of the bias (beta), or null when not affine. */
    public float[] bias() {
        return bias == null ? null : bias.clone();
    }

    /** A copy of the running mean, or null when running stats are not tracked. */
    public float[] runningMean() {
        return runningMean == null ? null : runningMean.clone();
    }

    /** A copy of the running variance, or null when running stats are not tracked. */
    public float[] runningVar() {
        return runningVar == null ? null : runningVar.clone();
    }

    /** Training batches seen since construction (or the last {@link #setNumBatchesTracked}). */
    public long numBatchesTracked() {
        return numBatchesTracked;
    }

    /** Sets the weight (copied; length numFeatures). Fails when the layer is not affine. */
    public void setWeight(float[] values) {
        copyInto("weight", weight, values);
    }

    /** Sets the bias (copied; length numFeatures). Fails when the layer is not affine. */
    public void setBias(float[] values) {
        copyInto("bias", bias, values);
    }

    /** Sets the running mean (copied). Fails when running stats are not tracked. */
    public void setRunningMean(float[] values) {
        copyInto("runningMean", runningMean, values);
    }

    /** Sets the running variance (copied). Fails when running stats are not tracked. */
    public void setRunningVar(float[] values) {
        if (runningVar != null) {
            Checks.channels("runningVar", values, numFeatures, false);
            Checks.nonNegative("runningVar", values);
        }
        copyInto("runningVar", runningVar, values);
    }

    /** Sets the batch counter used by the cumulative average (momentum null). */
    public void setNumBatchesTracked(long value) {
        if (value < 0) {
            throw new IllegalArgumentException("numBatchesTracked must be >= 0, got " + value);
        }
        numBatchesTracked = value;
    }

    private void copyInto(String name, float[] target, float[] values) {
        if (target == null) {
            throw new IllegalStateException(name + " does not exist: the layer was built with "
                    + (name.startsWith("running") ? "trackRunningStats" : "affine") + " = false");
        }
        Checks.channels(name, values, numFeatures, false);
        System.arraycopy(values, 0, target, 0, numFeatures);
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }
}
