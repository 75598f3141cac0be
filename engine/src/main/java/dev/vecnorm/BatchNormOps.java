package dev.vecnorm;

import dev.vecnorm.kernels.BatchNormKernels;
import dev.vecnorm.kernels.Kernels;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;

/**
 * The functional batch-normalization API over float32 NCHW tensors of rank 2 to 5 (like
 * {@code torch.nn.functional.batch_norm} and ATen's {@code native_batch_norm_backward}).
 *
 * <p>Two forms of every call. The tensor overloads take {@link Tensor} views and named records ({@link Affine},
 * {@link SavedStatistics}, {@link MeanVariance}) and return new outputs ({@link Normalized},
 * {@link NormGradients}), so mean cannot be passed for invStd or dgamma for dbeta; they allocate their outputs.
 * The raw overloads take {@code float[]} plus an offset and an {@code int[]} shape, write into the caller's
 * arrays and allocate nothing per call: they are for hot loops. Per-channel arrays have length exactly
 * C. {@code gamma} and {@code beta} are optional everywhere: {@code null} means 1 and 0 (affine off). Every call
 * validates all of its arguments first and throws {@link IllegalArgumentException} naming the offending argument
 * and value before anything is written.
 *
 * <p>Aliasing: {@code y} may be {@code x} (same array and offset: in place); {@code dx} may be {@code dy} or
 * {@code x}. Inputs may share arrays freely. No other output may overlap any argument.
 *
 * <p>Threads: {@link #get()} spreads the tiles of a large tensor (blocks of channels that fit L2, or slices
 * along N of channels that do not; contiguous stretches of memory for passes that need no whole channel, such as
 * inference) over a shared pool sized to the available processors;
 * {@link #parallel(ForkJoinPool)} uses the caller's pool and {@link #singleThreaded()} the calling thread. Tiles
 * are cut by shape alone and their partial statistics merged in a fixed order, so results are bitwise identical
 * for any thread count. Tensors below {@link #PARALLEL_MIN_ELEMENTS} elements stay on the calling thread.
 *
 * <p>Every operation also takes tensors in {@link MemorySegment}s (long offsets, more than 2^31 elements, any
 * alignment); a segment confined to one thread keeps the call on that thread. Segments over float[] run the array
 * path itself; other float-aligned segments are read and written directly by the vector kernels' element-wise
 * passes; misaligned ones go through heap copies.
 *
 * <p>Instances are immutable and safe to use from many threads at once.
 */
public final class BatchNormOps {

    /**
     * Channel blocks are sized so that a block stays in cache between the statistics and normalize passes. 4 MiB
     * (a share of L3, not L2): each pass streams a block in memory order, and larger blocks mean fewer restarts
     * of the prefetchers and fewer per-block costs. Measured on a Zen 5 host (1 MiB L2, 32 MiB L3), 1 thread,
     * training: 32x256x56x56 at 55-59% of the copy floor vs 43-55% with 0.5-1 MiB blocks; 32x2048x7x7 1.3-1.5 ms
     * vs 1.3-2.2 ms. The system property vecnorm.cacheBlockBytes overrides it (tests use tiny blocks to run
     * many of them).
     */
    /** Runs shorter than this (in floats) count as short for tiling: no wider vector exists. */
    private static final int SHORT_RUN = 16;

    private static final long CACHE_BLOCK_BYTES = Long.getLong("vecnorm.cacheBlockBytes", 4L << 20);

    /**
     * Below this many elements (times the tensors a pass reads) a call stays on the calling thread. Measured on
     * 2 cores: 256x1024 (262K elements) trains in 0.15 ms on one thread and 0.19 ms on two; 32x2048x7x7 (3.2M)
     * in 2.9 ms on one and 1.75 ms on two. The system property vecnorm.parallelMinElements overrides it (the
     * property tests set 0 to run their small tensors through the pool).
     */
    public static final long PARALLEL_MIN_ELEMENTS = Long.getLong("vecnorm.parallelMinElements", 1 << 21);

    private static final class DefaultPool {
        static final ForkJoinPool POOL = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
    }

    /** The pool {@link #get()} uses, shared with the other operations' {@code get()}. */
    static ForkJoinPool defaultPool() {
        return DefaultPool.POOL;
    }

    private final BatchNormKernels kernels;
    /** Where channel blocks run; null: on the calling thread. */
    private final ForkJoinPool pool;

    private BatchNormOps(BatchNormKernels kernels, ForkJoinPool pool) {
        this.kernels = kernels;
        this.pool = pool;
    }

    /**
     * The operations backed by {@link Kernels#preferred()} (Vector API when available), on the shared pool.
     *
     * @throws IllegalStateException if -Dvecnorm.kernels asks for kernels that cannot run here
     */
    public static BatchNormOps get() {
        return new BatchNormOps(Kernels.preferred(), DefaultPool.POOL);
    }

    /**
     * The operations backed by the given kernels, e.g. {@link Kernels#scalar()} for the reference, on the calling
     * thread (see {@link #parallel(ForkJoinPool)}).
     */
    public static BatchNormOps using(BatchNormKernels kernels) {
        return new BatchNormOps(Objects.requireNonNull(kernels, "kernels"), null);
    }

    /** The same operations, spreading large tensors over {@code pool} (its parallelism is the thread count). */
    public BatchNormOps parallel(ForkJoinPool pool) {
        return new BatchNormOps(kernels, Objects.requireNonNull(pool, "pool"));
    }

    /** The same operations on the calling thread only. */
    public BatchNormOps singleThreaded() {
        return pool == null ? this : new BatchNormOps(kernels, null);
    }

    /** The kernels behind this instance. */
    public BatchNormKernels kernels() {
        return kernels;
    }

    /**
     * Training forward: per-channel batch mean and biased variance over N and all spatial positions, then
     * {@code y = (x - mean) / sqrt(var + eps) * gamma + beta}. Optionally saves mean and {@code 1/sqrt(var + eps)}
     * for {@link #backward} and updates running statistics.
     *
     * @param saveMean receives the batch mean (length C), or null
     * @param saveInvStd receives {@code 1/sqrt(var + eps)} (length C), or null
     * @param running running statistics to update in place, or null
     * @throws IllegalArgumentException on a bad shape, length, offset, eps, aliasing, or a channel with a single
     *     value (N*S == 1)
     */
    public void forwardTraining(int[] shape, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running) {
        forwardTrainingFused(Layout.CHANNELS_FIRST, shape, x, xOffset, null, 0, y, yOffset, gamma, beta, eps,
                saveMean, saveInvStd, running, false);
    }

    private void trainArrays(NcsShape sh, float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running,
            boolean relu, Workspace ws) {
        int c = sh.c();
        double[] mean = ws.doubles(Workspace.Doubles.MEAN, c);
        double[] variance = ws.doubles(Workspace.Doubles.VARIANCE, c);
        double[] invStd = ws.doubles(Workspace.Doubles.INV_STD, c);
        float[] centerHi = ws.floats(Workspace.Floats.CENTER_HI, c);
        float[] centerLo = ws.floats(Workspace.Floats.CENTER_LO, c);
        float[] scale = ws.floats(Workspace.Floats.SCALE, c);
        float[] shift = ws.floats(Workspace.Floats.SHIFT, c);
        List<Tile> tiles = tiles(sh, 1);
        if (!sliced(tiles, sh.n())) {
            forEachTile(sh, 1, tiles, t -> {
                // Statistics, then normalize, per block of channels: the second pass reads x from L2.
                kernels.moments(x, xOffset, sh.n(), c, sh.s(), t.c0, t.c1, mean, variance);
                normalizationParameters(t.c0, t.c1, mean, variance, gamma, beta, eps, invStd, centerHi, centerLo,
                        scale, shift);
                normalize(x, xOffset, z, zOffset, y, yOffset, sh.n(), c, sh.s(), t.c0, t.c1, centerHi, centerLo,
                        scale, shift, relu);
            });
        } else {
            // Sliced along N (channels larger than the budget, or row slices of short runs): moments of every
            // slice, merged per channel in slice order (Chan), then the normalize pass over the slices.
            statistics(sh, x, xOffset, mean, variance);
            normalizationParameters(0, c, mean, variance, gamma, beta, eps, invStd, centerHi, centerLo, scale, shift);
            forEachTile(sh, 1, streamTiles(sh, 1), t -> normalize(x, xOffset + t.offset(sh), z,
                    zOffset + t.offset(sh), y, yOffset + t.offset(sh), t.n1 - t.n0, c, sh.s(), t.c0, t.c1, centerHi,
                    centerLo, scale, shift, relu));
        }
        finishTraining(c, mean, variance, invStd, saveMean, saveInvStd, running, sh.perChannel());
    }

    /** The normalize pass, with the fused epilogue only when one is asked for. */
    private void normalize(float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        if (z == null && !relu) {
            kernels.affine(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        } else {
            kernels.affineFused(x, xOffset, z, zOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale,
                    shift, relu);
        }
    }

    /**
     * Checks a training call's per-channel arguments, eps and the single-value rule, and returns their overlap
     * check for the caller to add its tensors to (arrays) or run as is (segments).
     */
    private static Checks.Regions trainingParameters(int[] shape, int c, long perChannel, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running) {
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("saveMean", saveMean, c, true);
        Checks.channels("saveInvStd", saveInvStd, c, true);
        if (running != null) {
            Checks.channels("running mean", running.mean(), c, false);
            Checks.channels("running variance", running.variance(), c, false);
        }
        Checks.epsilon(eps);
        Checks.moreThanOneValuePerChannel(shape, perChannel);
        return Checks.regions()
                .input("gamma", gamma)
                .input("beta", beta)
                .output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd)
                .output("running mean", running == null ? null : running.mean())
                .output("running variance", running == null ? null : running.variance());
    }

    /** Writes the saved statistics and moves the running ones: the last writes of a training forward. */
    static void finishTraining(int c, double[] mean, double[] variance, double[] invStd, float[] saveMean,
            float[] saveInvStd, RunningStats running, long perChannel) {
        for (int ch = 0; ch < c; ch++) {
            if (saveMean != null) {
                saveMean[ch] = (float) mean[ch];
            }
            if (saveInvStd != null) {
                saveInvStd[ch] = (float) invStd[ch];
            }
        }
        if (running != null) {
            updateRunningStats(running, mean, variance, perChannel);
        }
    }

    /**
     * Inference forward with given statistics: {@code y = (x - mean) / sqrt(var + eps) * gamma + beta}.
     *
     * @throws IllegalArgumentException on a bad shape, length, offset, eps or aliasing
     */
    public void forwardInference(int[] shape, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        forwardInferenceFused(Layout.CHANNELS_FIRST, shape, x, xOffset, null, 0, y, yOffset, gamma, beta, mean,
                variance, eps, false);
    }

    /**
     * Backward after a training forward, from its saved mean and inverse std:
     * {@code dbeta = sum(dy)}, {@code dgamma = sum(dy * xhat)},
     * {@code dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma)} with M = N*S.
     *
     * @param dx receives the input gradient, or null if not needed
     * @param dgamma receives the gradient of gamma (length C), or null
     * @param dbeta receives the gradient of beta (length C), or null
     * @throws IllegalArgumentException on a bad shape, length, offset or aliasing
     */
    public void backward(int[] shape, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        NcsShape sh = NcsShape.of(shape);
        int c = sh.c();
        checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta,
                "saveMean", saveMean, "saveInvStd", saveInvStd);

        try (Workspace ws = Workspace.acquire()) {
            backwardArrays(sh, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgamma, dbeta,
                    ws);
        }
    }

    private void backwardArrays(NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta,
            Workspace ws) {
        int c = sh.c();
        double[] sumDy = ws.doubles(Workspace.Doubles.SUM_DY, c);
        double[] sumDyCentered = ws.doubles(Workspace.Doubles.SUM_DY_CENTERED, c);
        double[] dyScale = ws.doubles(Workspace.Doubles.DY_SCALE, c);
        double[] centeredScale = ws.doubles(Workspace.Doubles.CENTERED_SCALE, c);
        double[] shift = ws.doubles(Workspace.Doubles.SHIFT, c);
        double count = sh.perChannel();
        List<Tile> tiles = tiles(sh, 2);
        if (!sliced(tiles, sh.n())) {
            forEachTile(sh, 2, tiles, t -> {
                // Sums, then dx, per block of channels: the second pass reads dy and x from L2.
                kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), c, sh.s(), t.c0, t.c1, saveMean, sumDy,
                        sumDyCentered);
                if (dx != null) {
                    inputGradientParameters(t.c0, t.c1, gamma, saveInvStd, sumDy, sumDyCentered, count, dyScale,
                            centeredScale, shift);
                    kernels.gradientInput(dy, dyOffset, x, xOffset, dx, dxOffset, sh.n(), c, sh.s(), t.c0, t.c1,
                            saveMean, dyScale, centeredScale, shift);
                }
            });
        } else {
            gradientSums(tiles, sh, dy, dyOffset, x, xOffset, saveMean, sumDy, sumDyCentered);
            if (dx != null) {
                inputGradientParameters(0, c, gamma, saveInvStd, sumDy, sumDyCentered, count, dyScale, centeredScale,
                        shift);
                forEachTile(sh, 2, streamTiles(sh, 2), t -> kernels.gradientInput(dy, dyOffset + t.offset(sh), x,
                        xOffset + t.offset(sh), dx, dxOffset + t.offset(sh), t.n1 - t.n0, c, sh.s(), t.c0, t.c1,
                        saveMean, dyScale, centeredScale, shift));
            }
        }
        writeParameterGradients(c, sumDy, sumDyCentered, saveInvStd, dgamma, dbeta);
    }

    /**
     * Backward with frozen statistics (eval mode, oneDNN's use_global_stats): mean and variance are constants,
     * so {@code dx = dy * gamma / sqrt(var + eps)}; {@code dgamma = sum(dy * xhat)}, {@code dbeta = sum(dy)}.
     *
     * @throws IllegalArgumentException on a bad shape, length, offset, eps or aliasing
     */
    public void backwardFrozen(int[] shape, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] mean, float[] variance, double eps, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        NcsShape sh = NcsShape.of(shape);
        int c = sh.c();
        checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta,
                "mean", mean, "variance", variance);
        Checks.epsilon(eps);

        float[] invStd = new float[c];
        for (int ch = 0; ch < c; ch++) {
            invStd[ch] = (float) (1.0 / Math.sqrt((double) variance[ch] + eps));
        }
        if (dgamma != null || dbeta != null) {
            double[] sumDy = new double[c];
            double[] sumDyCentered = new double[c];
            gradientSums(tiles(sh, 2), sh, dy, dyOffset, x, xOffset, mean, sumDy, sumDyCentered);
            if (dx != null) {
                frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset);
            }
            writeParameterGradients(c, sumDy, sumDyCentered, invStd, dgamma, dbeta);
        } else if (dx != null) {
            frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Statistics only: the first pass of a training forward, as a mergeable value.

    /**
     * Per-channel count, mean and M2 of a tensor of logical shape (N, C, spatial...) in {@code layout}, with the
     * statistics pass of {@link #forwardTraining} (same tiles, same kernels, same merge order: the mean and
     * biased variance are bitwise those a training forward computes). A single value per channel is allowed.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, or an offset or length that does not fit
     */
    public ChannelMoments moments(Layout layout, int[] shape, float[] x, int xOffset) {
        NcsShape sh = NcsShape.of(checkedMemoryShape(layout, shape));
        Checks.tensor("x", x, xOffset, sh);
        double[] mean = new double[sh.c()];
        double[] variance = new double[sh.c()];
        statistics(sh, x, xOffset, mean, variance);
        return ChannelMoments.fromVariance(sh.perChannel(), mean, variance);
    }

    /**
     * {@link #moments(Layout, int[], float[], int)} of a tensor in a segment; the offset counts floats.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, or a range that does not fit the segment
     */
    public ChannelMoments moments(Layout layout, int[] shape, MemorySegment x, long xOffset) {
        int[] memoryShape = checkedMemoryShape(layout, shape);
        long[] ncs = NcsShape.reduce(memoryShape);
        Checks.segment("x", x, xOffset, ncs[3], false);
        float[] xArray = SegmentPasses.backingArray(x);
        if (xArray != null) {
            return moments(Layout.CHANNELS_FIRST, memoryShape, xArray, SegmentPasses.arrayOffset(x, xOffset));
        }
        int c = (int) ncs[1];
        double[] mean = new double[c];
        double[] variance = new double[c];
        passes(ncs, x).statistics(x, xOffset, mean, variance);
        return ChannelMoments.fromVariance(ncs[0] * ncs[2], mean, variance);
    }

    /** Mean and biased variance per channel, tiled and merged exactly as in {@link #trainArrays}. */
    private void statistics(NcsShape sh, float[] x, int xOffset, double[] mean, double[] variance) {
        int c = sh.c();
        List<Tile> tiles = tiles(sh, 1);
        if (!sliced(tiles, sh.n())) {
            forEachTile(sh, 1, tiles, t -> kernels.moments(x, xOffset, sh.n(), c, sh.s(), t.c0, t.c1, mean,
                    variance));
            return;
        }
        int slices = sliceCount(tiles);
        double[][] sliceMean = new double[slices][c];
        double[][] sliceVar = new double[slices][c];
        forEachTile(sh, 1, tiles, t -> kernels.moments(x, xOffset + t.offset(sh), t.n1 - t.n0, c, sh.s(), t.c0,
                t.c1, sliceMean[t.slice], sliceVar[t.slice]));
        mergeMoments(tiles, c, sh.s(), sliceMean, sliceVar, mean, variance);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Explicit layouts. A channels-last tensor (N, spatial..., C in memory) is walked as the channels-first view
    // (N * spatial, C): the same per-channel reductions, vectorized across channels, no transposes.

    private static int[] checkedMemoryShape(Layout layout, int[] shape) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        return layout.memoryShape(shape);
    }

    /**
     * Training forward of {@code x} (either layout) into a new tensor, with the batch statistics saved for
     * {@link #backward(Tensor, Tensor, float[], SavedStatistics)}; {@code running} (or null) is updated in place.
     * Allocates the output; the raw overloads write into the caller's arrays.
     *
     * @throws IllegalArgumentException as the raw overload, or if x or affine is null
     */
    public Normalized forwardTraining(Tensor x, Affine affine, double eps, RunningStats running) {
        requireTensor("x", x);
        requireAffine(affine);
        int c = channels(x);
        Tensor y = x.zerosLike();
        SavedStatistics saved = new SavedStatistics(new float[c], new float[c]);
        forwardTraining(x.layout(), x.shapeUnsafe(), x.data(), x.offset(), y.data(), y.offset(), affine.weight(),
                affine.bias(), eps, saved.mean(), saved.invStd(), running);
        return new Normalized(y, saved);
    }

    /**
     * Inference forward of {@code x} with given statistics (e.g. running ones) into a new tensor.
     *
     * @throws IllegalArgumentException as the raw overload, or if x, affine or statistics is null
     */
    public Tensor forwardInference(Tensor x, Affine affine, MeanVariance statistics, double eps) {
        requireTensor("x", x);
        requireAffine(affine);
        requireStatistics(statistics);
        Tensor y = x.zerosLike();
        forwardInference(x.layout(), x.shapeUnsafe(), x.data(), x.offset(), y.data(), y.offset(), affine.weight(),
                affine.bias(), statistics.mean(), statistics.variance(), eps);
        return y;
    }

    /**
     * Backward after {@link #forwardTraining(Tensor, Affine, double, RunningStats)}: {@code dy} must have x's
     * shape and layout; {@code weight} is the forward's (or null); {@code saved} is what it returned.
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree
     */
    public NormGradients backward(Tensor dy, Tensor x, float[] weight, SavedStatistics saved) {
        requireTensor("x", x);
        x.requireSameShape("x", "dy", dy);
        if (saved == null) {
            throw new IllegalArgumentException("saved must not be null");
        }
        int c = channels(x);
        Tensor dx = x.zerosLike();
        NormGradients g = new NormGradients(dx, new float[c], new float[c]);
        backward(x.layout(), x.shapeUnsafe(), dy.data(), dy.offset(), x.data(), x.offset(), weight, saved.mean(),
                saved.invStd(), dx.data(), dx.offset(), g.dWeight(), g.dBias());
        return g;
    }

    /**
     * Backward with frozen statistics (eval mode): the mean and variance are constants.
     *
     * @throws IllegalArgumentException as the raw overload, or on tensors that disagree
     */
    public NormGradients backwardFrozen(Tensor dy, Tensor x, float[] weight, MeanVariance statistics, double eps) {
        requireTensor("x", x);
        x.requireSameShape("x", "dy", dy);
        requireStatistics(statistics);
        int c = channels(x);
        Tensor dx = x.zerosLike();
        NormGradients g = new NormGradients(dx, new float[c], new float[c]);
        backwardFrozen(x.layout(), x.shapeUnsafe(), dy.data(), dy.offset(), x.data(), x.offset(), weight,
                statistics.mean(), statistics.variance(), eps, dx.data(), dx.offset(), g.dWeight(), g.dBias());
        return g;
    }

    static void requireTensor(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }

    static void requireAffine(Affine affine) {
        if (affine == null) {
            throw new IllegalArgumentException("affine must not be null (Affine.NONE for no weight and bias)");
        }
    }

    private static void requireStatistics(MeanVariance statistics) {
        if (statistics == null) {
            throw new IllegalArgumentException("statistics must not be null");
        }
    }

    /** C of a (N, C, spatial...) tensor, after the shape checks of the raw overloads. */
    private static int channels(Tensor x) {
        return NcsShape.of(x.shapeUnsafe()).c();
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardTraining(Layout layout, int[] shape, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running) {
        forwardTrainingFused(layout, shape, x, xOffset, null, 0, y, yOffset, gamma, beta, eps, saveMean,
                saveInvStd, running, false);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardInference(Layout layout, int[] shape, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        forwardInferenceFused(layout, shape, x, xOffset, null, 0, y, yOffset, gamma, beta, mean, variance, eps,
                false);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backward(Layout layout, int[] shape, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, float[] dgamma,
            float[] dbeta) {
        backward(checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backwardFrozen(Layout layout, int[] shape, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] mean, float[] variance, double eps, float[] dx, int dxOffset, float[] dgamma,
            float[] dbeta) {
        backwardFrozen(checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, mean, variance, eps, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardTraining(Layout layout, int[] shape, MemorySegment x, long xOffset, MemorySegment y,
            long yOffset, float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd,
            RunningStats running) {
        int[] view = checkedMemoryShape(layout, shape);
        long[] ncs = NcsShape.reduce(shape);
        Checks.moreThanOneValuePerChannel(shape, ncs[0] * ncs[2]);
        forwardTraining(view, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd, running);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardInference(Layout layout, int[] shape, MemorySegment x, long xOffset, MemorySegment y,
            long yOffset, float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        forwardInference(checkedMemoryShape(layout, shape), x, xOffset, y, yOffset, gamma, beta, mean, variance,
                eps);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backward(Layout layout, int[] shape, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        backward(checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backwardFrozen(Layout layout, int[] shape, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, float[] mean, float[] variance, double eps, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        backwardFrozen(checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, mean, variance, eps, dx,
                dxOffset, dgamma, dbeta);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Fused epilogues: y = relu(bn(x) + residual), ResNet's block ending, in the normalize pass (y is written
    // once); and its backward from y alone (y > 0 is the ReLU's mask), so the pre-activation is never stored.

    /**
     * Training forward with the epilogue {@code y = max(0, bn(x) + residual)}: the residual is skipped when null,
     * the max when {@code relu} is false. Statistics are those of x. {@code y} may be {@code x} or
     * {@code residual} at the same offset.
     *
     * @throws IllegalArgumentException as {@link #forwardTraining(int[], float[], int, float[], int, float[],
     *     float[], double, float[], float[], RunningStats)}, or on a residual of the wrong length or overlap
     */
    public void forwardTrainingFused(Layout layout, int[] shape, float[] x, int xOffset, float[] residual,
            int residualOffset, float[] y, int yOffset, float[] gamma, float[] beta, double eps, float[] saveMean,
            float[] saveInvStd, RunningStats running, boolean relu) {
        int[] view = checkedMemoryShape(layout, shape);
        NcsShape sh = NcsShape.of(view);
        Checks.moreThanOneValuePerChannel(shape, sh.perChannel());
        Checks.tensor("x", x, xOffset, sh);
        Checks.tensor("y", y, yOffset, sh);
        if (residual != null) {
            Checks.tensor("residual", residual, residualOffset, sh);
        }
        trainingParameters(shape, sh.c(), sh.perChannel(), gamma, beta, eps, saveMean, saveInvStd, running)
                .input("x", x, xOffset, sh.size())
                .input("residual", residual, residualOffset, sh.size())
                .output("y", y, yOffset, sh.size())
                .inPlace("y", "x")
                .inPlace("y", "residual")
                .check();
        try (Workspace ws = Workspace.acquire()) {
            trainArrays(sh, x, xOffset, residual, residualOffset, y, yOffset, gamma, beta, eps, saveMean,
                    saveInvStd, running, relu, ws);
        }
    }

    /**
     * Inference with the epilogue {@code y = max(0, bn(x) + residual)} (residual skipped when null, max when
     * {@code relu} is false). {@code y} may be {@code x} or {@code residual} at the same offset.
     *
     * @throws IllegalArgumentException on a bad shape, length, offset, eps or aliasing
     */
    public void forwardInferenceFused(Layout layout, int[] shape, float[] x, int xOffset, float[] residual,
            int residualOffset, float[] y, int yOffset, float[] gamma, float[] beta, float[] mean, float[] variance,
            double eps, boolean relu) {
        NcsShape sh = NcsShape.of(checkedMemoryShape(layout, shape));
        int c = sh.c();
        Checks.tensor("x", x, xOffset, sh);
        Checks.tensor("y", y, yOffset, sh);
        if (residual != null) {
            Checks.tensor("residual", residual, residualOffset, sh);
        }
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("mean", mean, c, false);
        Checks.channels("variance", variance, c, false);
        Checks.nonNegative("variance", variance);
        Checks.epsilon(eps);
        Checks.regions()
                .input("x", x, xOffset, sh.size())
                .input("residual", residual, residualOffset, sh.size())
                .output("y", y, yOffset, sh.size())
                .inPlace("y", "x")
                .inPlace("y", "residual")
                .input("gamma", gamma)
                .input("beta", beta)
                .input("mean", mean)
                .input("variance", variance)
                .check();
        try (Workspace ws = Workspace.acquire()) {
            float[] centerLo = ws.zeroedFloats(Workspace.Floats.CENTER_LO, c);
            float[] scale = ws.floats(Workspace.Floats.SCALE, c);
            float[] shift = ws.floats(Workspace.Floats.SHIFT, c);
            for (int ch = 0; ch < c; ch++) {
                scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
                shift[ch] = betaOf(beta, ch);
            }
            forEachTile(sh, 1, streamTiles(sh, 1), t -> normalize(x, xOffset + t.offset(sh), residual,
                    residualOffset + t.offset(sh), y, yOffset + t.offset(sh), t.n1 - t.n0, c, sh.s(), t.c0, t.c1,
                    mean, centerLo, scale, shift, relu));
        }
    }

    /**
     * Backward of {@link #forwardTrainingFused}: from the forward's output {@code y} (its ReLU mask is y > 0),
     * {@code dResidual = dy * (y > 0)} (or dy without ReLU), then the batch-norm backward of that gradient into
     * dx, dgamma and dbeta. The masked gradient is staged in dResidual, or else in dx (so one of the two must be
     * given); dx may be dy at the same offset.
     *
     * @param dResidual receives the residual's gradient, or null
     * @throws IllegalArgumentException on a bad shape, length, offset or aliasing, or if dx and dResidual are
     *     both null
     */
    public void backwardFused(Layout layout, int[] shape, float[] dy, int dyOffset, float[] y, int yOffset,
            float[] x, int xOffset, float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset,
            float[] dResidual, int dResidualOffset, float[] dgamma, float[] dbeta, boolean relu) {
        int[] view = checkedMemoryShape(layout, shape);
        NcsShape sh = NcsShape.of(view);
        if (dx == null && dResidual == null) {
            throw new IllegalArgumentException("backwardFused needs dx or dResidual to stage the masked gradient");
        }
        checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "saveMean", saveMean,
                "saveInvStd", saveInvStd);
        Checks.tensor("y", y, yOffset, sh);
        if (dResidual != null) {
            Checks.tensor("dResidual", dResidual, dResidualOffset, sh);
        }
        Checks.regions()
                .input("dy", dy, dyOffset, sh.size())
                .input("y", y, yOffset, sh.size())
                .input("x", x, xOffset, sh.size())
                .output("dx", dx, dxOffset, sh.size())
                .output("dResidual", dResidual, dResidualOffset, sh.size())
                .inPlace("dx", "dy")
                .inPlace("dResidual", "dy")
                .check();
        float[] staged = dResidual != null ? dResidual : dx;
        int stagedOffset = dResidual != null ? dResidualOffset : dxOffset;
        forEachTile(sh, 2, streamTiles(sh, 2), t -> maskedGradient(dy, dyOffset + t.offset(sh), y,
                yOffset + t.offset(sh), staged, stagedOffset + t.offset(sh), t.n1 - t.n0, t.c0, t.c1, sh, relu));
        backward(view, staged, stagedOffset, x, xOffset, gamma, saveMean, saveInvStd, dx, dxOffset, dgamma, dbeta);
    }

    /** {@code out = y > 0 ? dy : 0} (or a copy of dy without ReLU) over one stream tile. */
    private static void maskedGradient(float[] dy, int dyOffset, float[] y, int yOffset, float[] out, int outOffset,
            int rows, int c0, int c1, NcsShape sh, boolean relu) {
        int s = sh.s();
        for (int i = 0; i < rows; i++) {
            int from = (i * sh.c() + c0) * s;
            int length = (c1 - c0) * s;
            if (!relu) {
                System.arraycopy(dy, dyOffset + from, out, outOffset + from, length);
                continue;
            }
            for (int k = from; k < from + length; k++) {
                out[outOffset + k] = y[yOffset + k] > 0 ? dy[dyOffset + k] : 0f;
            }
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // The same operations on tensors in MemorySegments (off-heap or heap, any alignment, long element offsets,
    // more than 2^31 elements). Per-channel arrays stay float[]. Results are bitwise those of the array overloads.

    /**
     * {@link #forwardTraining(int[], float[], int, float[], int, float[], float[], double, float[], float[],
     * RunningStats)} on segments; offsets count floats. {@code y} may be {@code x} at the same offset.
     *
     * @throws IllegalArgumentException on a bad shape, range, eps, aliasing or a read-only output
     */
    public void forwardTraining(int[] shape, MemorySegment x, long xOffset, MemorySegment y, long yOffset,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running) {
        long[] ncs = NcsShape.reduce(shape);
        int c = (int) ncs[1];
        Checks.segment("x", x, xOffset, ncs[3], false);
        Checks.segment("y", y, yOffset, ncs[3], true);
        Checks.segmentOverlap("y", y, yOffset, "x", x, xOffset, ncs[3], true);
        trainingParameters(shape, c, ncs[0] * ncs[2], gamma, beta, eps, saveMean, saveInvStd, running).check();
        float[] xArray = SegmentPasses.backingArray(x);
        float[] yArray = SegmentPasses.backingArray(y);
        if (xArray != null && yArray != null) {
            forwardTraining(shape, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, beta, eps, saveMean, saveInvStd, running);
            return;
        }

        double[] mean = new double[c];
        double[] variance = new double[c];
        double[] invStd = new double[c];
        passes(ncs, x, y).forwardTraining(x, xOffset, y, yOffset, gamma, beta, eps, mean, variance, invStd);
        finishTraining(c, mean, variance, invStd, saveMean, saveInvStd, running, ncs[0] * ncs[2]);
    }

    /**
     * {@link #forwardInference(int[], float[], int, float[], int, float[], float[], float[], float[], double)} on
     * segments; offsets count floats. {@code y} may be {@code x} at the same offset.
     *
     * @throws IllegalArgumentException on a bad shape, range, eps, aliasing or a read-only output
     */
    public void forwardInference(int[] shape, MemorySegment x, long xOffset, MemorySegment y, long yOffset,
            float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        long[] ncs = NcsShape.reduce(shape);
        int c = (int) ncs[1];
        Checks.segment("x", x, xOffset, ncs[3], false);
        Checks.segment("y", y, yOffset, ncs[3], true);
        Checks.segmentOverlap("y", y, yOffset, "x", x, xOffset, ncs[3], true);
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("mean", mean, c, false);
        Checks.channels("variance", variance, c, false);
        Checks.nonNegative("variance", variance);
        Checks.epsilon(eps);
        float[] xArray = SegmentPasses.backingArray(x);
        float[] yArray = SegmentPasses.backingArray(y);
        if (xArray != null && yArray != null) {
            forwardInference(shape, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, beta, mean, variance, eps);
            return;
        }

        float[] scale = new float[c];
        float[] shift = new float[c];
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
            shift[ch] = betaOf(beta, ch);
        }
        passes(ncs, x, y).forwardInference(x, xOffset, y, yOffset, mean, scale, shift);
    }

    /**
     * {@link #backward(int[], float[], int, float[], int, float[], float[], float[], float[], int, float[],
     * float[])} on segments; offsets count floats. {@code dx} may be {@code dy} or {@code x} at the same offset.
     *
     * @throws IllegalArgumentException on a bad shape, range, length, aliasing or a read-only output
     */
    public void backward(int[] shape, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, float[] gamma,
            float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset, float[] dgamma, float[] dbeta) {
        long[] ncs = NcsShape.reduce(shape);
        int c = (int) ncs[1];
        checkSegmentBackward(ncs, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "saveMean", saveMean,
                "saveInvStd", saveInvStd);
        if (onArrays(dy, x, dx)) {
            backward(shape, SegmentPasses.backingArray(dy), SegmentPasses.arrayOffset(dy, dyOffset),
                    SegmentPasses.backingArray(x), SegmentPasses.arrayOffset(x, xOffset), gamma, saveMean, saveInvStd,
                    SegmentPasses.backingArray(dx), dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma,
                    dbeta);
            return;
        }

        double[] sumDy = new double[c];
        double[] sumDyCentered = new double[c];
        passes(ncs, dy, x, dx).backward(dy, dyOffset, x, xOffset, dx, dxOffset, gamma, saveMean, saveInvStd, sumDy,
                sumDyCentered);
        writeParameterGradients(c, sumDy, sumDyCentered, saveInvStd, dgamma, dbeta);
    }

    /**
     * {@link #backwardFrozen(int[], float[], int, float[], int, float[], float[], float[], double, float[], int,
     * float[], float[])} on segments; offsets count floats. {@code dx} may be {@code dy} or {@code x}.
     *
     * @throws IllegalArgumentException on a bad shape, range, length, eps, aliasing or a read-only output
     */
    public void backwardFrozen(int[] shape, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] gamma, float[] mean, float[] variance, double eps, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        long[] ncs = NcsShape.reduce(shape);
        int c = (int) ncs[1];
        checkSegmentBackward(ncs, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "mean", mean,
                "variance", variance);
        Checks.epsilon(eps);
        if (onArrays(dy, x, dx)) {
            backwardFrozen(shape, SegmentPasses.backingArray(dy), SegmentPasses.arrayOffset(dy, dyOffset),
                    SegmentPasses.backingArray(x), SegmentPasses.arrayOffset(x, xOffset), gamma, mean, variance, eps,
                    SegmentPasses.backingArray(dx), dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma,
                    dbeta);
            return;
        }

        SegmentPasses passes = passes(ncs, dy, x, dx);
        float[] invStd = new float[c];
        float[] scale = new float[c];
        for (int ch = 0; ch < c; ch++) {
            invStd[ch] = (float) (1.0 / Math.sqrt((double) variance[ch] + eps));
            scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
        }
        double[] sumDy = new double[c];
        double[] sumDyCentered = new double[c];
        if (dgamma != null || dbeta != null) {
            passes.gradientSums(dy, dyOffset, x, xOffset, mean, sumDy, sumDyCentered);
        }
        if (dx != null) {
            float[] zero = new float[c];
            passes.affine(dy, dyOffset, dx, dxOffset, streamTiles((int) ncs[0], c, (int) ncs[2], 1), zero, zero, scale,
                    zero);
        }
        writeParameterGradients(c, sumDy, sumDyCentered, invStd, dgamma, dbeta);
    }

    /** True if dy and x (and dx, when given) are float[]-backed heap segments: the array path runs on them. */
    private static boolean onArrays(MemorySegment dy, MemorySegment x, MemorySegment dx) {
        return SegmentPasses.backingArray(dy) != null && SegmentPasses.backingArray(x) != null
                && (dx == null || SegmentPasses.backingArray(dx) != null);
    }

    private SegmentPasses passes(long[] ncs, MemorySegment... segments) {
        return new SegmentPasses(this, kernels, (int) ncs[0], (int) ncs[1], (int) ncs[2], segments);
    }

    private static void checkSegmentBackward(long[] ncs, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, MemorySegment dx, long dxOffset, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        int c = (int) ncs[1];
        Checks.segment("dy", dy, dyOffset, ncs[3], false);
        Checks.segment("x", x, xOffset, ncs[3], false);
        if (dx != null) {
            Checks.segment("dx", dx, dxOffset, ncs[3], true);
            Checks.segmentOverlap("dx", dx, dxOffset, "dy", dy, dyOffset, ncs[3], true);
            Checks.segmentOverlap("dx", dx, dxOffset, "x", x, xOffset, ncs[3], true);
        }
        backwardParameters(c, gamma, dgamma, dbeta, meanName, mean, spreadName, spread).check();
    }

    /**
     * Checks a backward call's per-channel arguments and returns their overlap check for the caller to add its
     * tensors to (arrays) or run as is (segments).
     */
    private static Checks.Regions backwardParameters(int c, float[] gamma, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        Checks.channels("gamma", gamma, c, true);
        Checks.channels(meanName, mean, c, false);
        Checks.channels(spreadName, spread, c, false);
        Checks.nonNegative(spreadName, spread);
        Checks.channels("dgamma", dgamma, c, true);
        Checks.channels("dbeta", dbeta, c, true);
        return Checks.regions()
                .input("gamma", gamma)
                .input(meanName, mean)
                .input(spreadName, spread)
                .output("dgamma", dgamma)
                .output("dbeta", dbeta);
    }

    private void frozenInputGradient(NcsShape sh, float[] dy, int dyOffset, float[] gamma, float[] variance,
            double eps, float[] dx, int dxOffset) {
        int c = sh.c();
        float[] zero = new float[c];
        float[] scale = new float[c];
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
        }
        // dx = (dy - 0 - 0) * scale + 0: the affine pass reads dy only, not x.
        forEachTile(sh, 1, streamTiles(sh, 1), t -> kernels.affine(dy, dyOffset + t.offset(sh), dx,
                dxOffset + t.offset(sh), t.n1 - t.n0, c, sh.s(), t.c0, t.c1, zero, zero, scale, zero));
    }

    private static void checkBackward(NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] dx, int dxOffset, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        int c = sh.c();
        Checks.tensor("dy", dy, dyOffset, sh);
        Checks.tensor("x", x, xOffset, sh);
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, sh);
        }
        backwardParameters(c, gamma, dgamma, dbeta, meanName, mean, spreadName, spread)
                .input("dy", dy, dyOffset, sh.size())
                .input("x", x, xOffset, sh.size())
                .output("dx", dx, dxOffset, sh.size())
                .inPlace("dx", "dy")
                .inPlace("dx", "x")
                .check();
    }

    static void writeParameterGradients(int c, double[] sumDy, double[] sumDyCentered, float[] invStd,
            float[] dgamma, float[] dbeta) {
        for (int ch = 0; ch < c; ch++) {
            if (dgamma != null) {
                dgamma[ch] = (float) (sumDyCentered[ch] * invStd[ch]);
            }
            if (dbeta != null) {
                dbeta[ch] = (float) sumDy[ch];
            }
        }
    }

    private static void updateRunningStats(RunningStats running, double[] mean, double[] variance, long count) {
        RunningStatsConvention convention = running.convention();
        double m = running.momentum();
        float[] runningMean = running.mean();
        float[] runningVar = running.variance();
        for (int ch = 0; ch < runningMean.length; ch++) {
            runningMean[ch] = (float) convention.mix(runningMean[ch], mean[ch], m);
            runningVar[ch] = (float) convention.mix(runningVar[ch],
                    convention.varianceToAverage(variance[ch], count), m);
        }
    }

    /**
     * A rectangle of work: channels [c0, c1) of batch entries [n0, n1), slice number {@code slice} along N. How a
     * tensor is cut into tiles depends on its shape only, never on the thread count: that fixes the reduction tree.
     */
    record Tile(int c0, int c1, int n0, int n1, int slice) {
        /** Offset of the tile's first batch entry in a dense tensor of the shape. */
        int offset(NcsShape sh) {
            return n0 * sh.c() * sh.s();
        }
    }

    interface TileWork {
        void run(Tile tile);
    }

    /**
     * Blocks of channels that fit the cache budget together; a channel that is larger than twice the budget is
     * instead cut along N into slices of about the budget each, so that few large channels still make many tiles.
     */
    private static List<Tile> tiles(NcsShape sh, int tensors) {
        return TilePlans.of(TilePlans.Kind.BLOCKS, sh.n(), sh.c(), sh.s(), tensors);
    }

    static List<Tile> tiles(int n, int c, int s, int tensors) {
        List<Tile> tiles = new ArrayList<>();
        long bytesPerRun = 4L * tensors * s;
        long bytesPerRow = bytesPerRun * c;
        if (s < SHORT_RUN && n > 1 && bytesPerRow * n > 2 * CACHE_BLOCK_BYTES && bytesPerRow <= CACHE_BLOCK_BYTES) {
            // Short runs (rank 2, channels-last): every channel has a value in every row, so a channel block
            // would walk all rows with a stride; slices of whole rows stream in memory order instead, and
            // their moments merge per channel in slice order.
            int rows = (int) (CACHE_BLOCK_BYTES / bytesPerRow);
            for (int n0 = 0, k = 0; n0 < n; n0 += rows, k++) {
                tiles.add(new Tile(0, c, n0, Math.min(n, n0 + rows), k));
            }
            return tiles;
        }
        if (n > 1 && bytesPerRun * n > 2 * CACHE_BLOCK_BYTES) {
            int slice = (int) Math.max(1, CACHE_BLOCK_BYTES / bytesPerRun);
            for (int ch = 0; ch < c; ch++) {
                for (int n0 = 0, k = 0; n0 < n; n0 += slice, k++) {
                    tiles.add(new Tile(ch, ch + 1, n0, Math.min(n, n0 + slice), k));
                }
            }
            return tiles;
        }
        long bytesPerChannel = bytesPerRun * n;
        int block = (int) Math.max(1, Math.min(c, CACHE_BLOCK_BYTES / bytesPerChannel));
        for (int c0 = 0; c0 < c; c0 += block) {
            tiles.add(new Tile(c0, Math.min(c, c0 + block), 0, n, 0));
        }
        return tiles;
    }

    /**
     * Tiles for the element-wise passes (normalize with known statistics, dx with known sums), which need no
     * channel whole: stretches of memory of about the cache budget (whole batch rows, or blocks of channels
     * within a row when a row is larger than twice the budget), so that each pass streams in memory order rather
     * than jumping from run to run of one channel.
     */
    static List<Tile> streamTiles(int n, int c, int s, int tensors) {
        List<Tile> tiles = new ArrayList<>();
        long bytesPerRow = 4L * tensors * c * s;
        if (bytesPerRow > 2 * CACHE_BLOCK_BYTES) {
            int block = (int) Math.max(1, Math.min(c, CACHE_BLOCK_BYTES / (4L * tensors * s)));
            for (int i = 0; i < n; i++) {
                for (int c0 = 0; c0 < c; c0 += block) {
                    tiles.add(new Tile(c0, Math.min(c, c0 + block), i, i + 1, 0));
                }
            }
            return tiles;
        }
        int rows = (int) Math.max(1, CACHE_BLOCK_BYTES / bytesPerRow);
        for (int n0 = 0; n0 < n; n0 += rows) {
            tiles.add(new Tile(0, c, n0, Math.min(n, n0 + rows), 0));
        }
        return tiles;
    }

    private static List<Tile> streamTiles(NcsShape sh, int tensors) {
        return TilePlans.of(TilePlans.Kind.STREAM, sh.n(), sh.c(), sh.s(), tensors);
    }

    /** True if {@link #tiles} cut the channels along N (their statistics then need a merge across slices). */
    static boolean sliced(List<Tile> tiles, int n) {
        return tiles.get(0).n1 < n;
    }

    static int sliceCount(List<Tile> tiles) {
        return tiles.stream().mapToInt(Tile::slice).max().orElse(0) + 1;
    }

    /**
     * Runs work on every tile, on the pool when there is enough work for more than one thread. Each tile's
     * result depends only on its own data, never on which thread computed it, so results are bitwise identical
     * for any number of threads.
     */
    private void forEachTile(NcsShape sh, int tensors, List<Tile> tiles, TileWork work) {
        forEachTile((long) sh.size() * tensors, tiles, work);
    }

    /** As above, for {@code work} = elements times tensors read. */
    void forEachTile(long work, List<Tile> tiles, TileWork job) {
        if (pool == null || work < PARALLEL_MIN_ELEMENTS || tiles.size() == 1 || pool.getParallelism() == 1) {
            // On the calling thread without a task object: the common case of small tensors allocates nothing.
            for (int i = 0; i < tiles.size(); i++) {
                job.run(tiles.get(i));
            }
            return;
        }
        // Task t takes tiles t, t + tasks, t + 2*tasks...: neighbours share the memory bus evenly.
        ParallelUnits.run(pool, tiles.size(), work, (first, stride) -> {
            for (int i = first; i < tiles.size(); i += stride) {
                job.run(tiles.get(i));
            }
        });
    }

    /** invstd, the two-float center and the folded scale and shift of channels [c0, c1). */
    static void normalizationParameters(int c0, int c1, double[] mean, double[] variance, float[] gamma,
            float[] beta, double eps, double[] invStd, float[] centerHi, float[] centerLo, float[] scale,
            float[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            invStd[ch] = 1.0 / Math.sqrt(variance[ch] + eps);
            centerHi[ch] = (float) mean[ch];
            centerLo[ch] = (float) (mean[ch] - centerHi[ch]);
            scale[ch] = (float) (gammaOf(gamma, ch) * invStd[ch]);
            shift[ch] = betaOf(beta, ch);
        }
    }

    /** Chan's merge of the slices' moments, per channel in slice order. */
    static void mergeMoments(List<Tile> tiles, int channels, int s, double[][] sliceMean, double[][] sliceVar,
            double[] mean, double[] variance) {
        for (int ch = 0; ch < channels; ch++) {
            double count = 0;
            double mu = 0;
            double m2 = 0;
            for (Tile t : tiles) {
                if (ch < t.c0 || ch >= t.c1) {
                    continue;
                }
                double nb = (double) (t.n1 - t.n0) * s;
                double delta = sliceMean[t.slice][ch] - mu;
                double total = count + nb;
                mu += delta * (nb / total);
                m2 += sliceVar[t.slice][ch] * nb + delta * delta * (count * nb / total);
                count = total;
            }
            mean[ch] = mu;
            variance[ch] = m2 / count;
        }
    }

    /**
     * dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma), as dy * dyScale - (x - mean) * centeredScale - shift.
     */
    static void inputGradientParameters(int c0, int c1, float[] gamma, float[] invStdOf, double[] sumDy,
            double[] sumDyCentered, double count, double[] dyScale, double[] centeredScale, double[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            double invStd = invStdOf[ch];
            double k = gammaOf(gamma, ch) * invStd;
            dyScale[ch] = k;
            centeredScale[ch] = k * invStd * invStd * sumDyCentered[ch] / count;
            shift[ch] = k * sumDy[ch] / count;
        }
    }

    /** Backward sums over the tiles; sliced channels add their slices' sums in slice order. */
    private void gradientSums(List<Tile> tiles, NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] center, double[] sumDy, double[] sumDyCentered) {
        int c = sh.c();
        if (!sliced(tiles, sh.n())) {
            forEachTile(sh, 2, tiles, t -> kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), c, sh.s(), t.c0,
                    t.c1, center, sumDy, sumDyCentered));
            return;
        }
        int slices = sliceCount(tiles);
        double[][] partDy = new double[slices][c];
        double[][] partDyCentered = new double[slices][c];
        forEachTile(sh, 2, tiles, t -> kernels.gradientSums(dy, dyOffset + t.offset(sh), x, xOffset + t.offset(sh),
                t.n1 - t.n0, c, sh.s(), t.c0, t.c1, center, partDy[t.slice], partDyCentered[t.slice]));
        addSlices(partDy, partDyCentered, sumDy, sumDyCentered);
    }

    /** Per channel, the slices' backward sums added in slice order (a fixed order: bitwise reproducible). */
    static void addSlices(double[][] partDy, double[][] partDyCentered, double[] sumDy, double[] sumDyCentered) {
        for (int ch = 0; ch < partDy[0].length; ch++) {
            double a = 0;
            double b = 0;
            for (int k = 0; k < partDy.length; k++) {
                a += partDy[k][ch];
                b += partDyCentered[k][ch];
            }
            sumDy[ch] = a;
            sumDyCentered[ch] = b;
        }
    }

    static double gammaOf(float[] gamma, int ch) {
        return gamma == null ? 1.0 : gamma[ch];
    }

    static float betaOf(float[] beta, int ch) {
        return beta == null ? 0f : beta[ch];
    }
}
