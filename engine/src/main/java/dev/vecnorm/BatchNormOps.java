package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
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

    // This class holds the entry points and the order of the passes. Beside it: Tiling (how a tensor is cut into
    // tiles), TileScheduler (where tiles run), ChannelMath (the per-channel arithmetic between passes),
    // BatchNormChecks (argument checks), SegmentPasses (the passes over MemorySegments) and the kernels
    // (dev.vecnorm.internal.kernels, the loops themselves).

    /**
     * Below this many elements (times the tensors a pass reads) a call stays on the calling thread; the system
     * property vecnorm.parallelMinElements overrides it.
     */
    public static final long PARALLEL_MIN_ELEMENTS = ParallelUnits.MIN_ELEMENTS;

    private final Backend backend;
    private final BatchNormKernels kernels;
    /** Where channel blocks run; its pool is null for the calling thread. */
    private final TileScheduler scheduler;

    private BatchNormOps(Backend backend, ForkJoinPool pool) {
        this.backend = backend;
        this.kernels = backend.kernels();
        this.scheduler = new TileScheduler(pool);
    }

    /**
     * The operations backed by {@link Backend#preferred()} (Vector API when available), on the shared pool.
     *
     * @throws IllegalStateException if -Dvecnorm.kernels asks for kernels that cannot run here
     */
    public static BatchNormOps get() {
        return new BatchNormOps(Backend.preferred(), ParallelUnits.defaultPool());
    }

    /**
     * The operations backed by the given implementation, e.g. {@link Backend#scalarReference()}, on the calling
     * thread (see {@link #parallel(ForkJoinPool)}).
     */
    public static BatchNormOps using(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend must not be null");
        }
        return new BatchNormOps(backend, null);
    }

    /** The same operations, spreading large tensors over {@code pool} (its parallelism is the thread count). */
    public BatchNormOps parallel(ForkJoinPool pool) {
        return new BatchNormOps(backend, Objects.requireNonNull(pool, "pool"));
    }

    /** The same operations on the calling thread only. */
    public BatchNormOps singleThreaded() {
        return scheduler.pool() == null ? this : new BatchNormOps(backend, null);
    }

    /** The implementation behind this instance. */
    public Backend backend() {
        return backend;
    }

    /** The kernels the passes run (the backend's). */
    BatchNormKernels kernels() {
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
        List<Tile> tiles = Tiling.tiles(sh, 1);
        if (!Tiling.sliced(tiles, sh.n())) {
            if (scheduler.onCallingThread(sh, 1, tiles)) {
                for (int i = 0; i < tiles.size(); i++) {
                    trainBlock(tiles.get(i), sh, x, xOffset, z, zOffset, y, yOffset, gamma, beta, eps, mean, variance,
                            invStd, centerHi, centerLo, scale, shift, relu);
                }
            } else {
                scheduler.forEachTile(sh, 1, tiles, t -> trainBlock(t, sh, x, xOffset, z, zOffset, y, yOffset, gamma,
                        beta, eps, mean, variance, invStd, centerHi, centerLo, scale, shift, relu));
            }
        } else {
            // Sliced along N (channels larger than the budget, or row slices of short runs): moments of every
            // slice, merged per channel in slice order (Chan), then the normalize pass over the slices.
            statistics(sh, x, xOffset, mean, variance, ws);
            ChannelMath.normalizationParameters(0, c, mean, variance, gamma, beta, eps, invStd, centerHi, centerLo, scale, shift);
            normalizeStream(sh, x, xOffset, z, zOffset, y, yOffset, centerHi, centerLo, scale, shift, relu);
        }
        ChannelMath.finishTraining(c, mean, variance, invStd, saveMean, saveInvStd, running, sh.perChannel());
    }

    /** Statistics, then normalize, of one block of channels: the second pass reads x from cache. */
    private void trainBlock(Tile t, NcsShape sh, float[] x, int xOffset, float[] z, int zOffset, float[] y,
            int yOffset, float[] gamma, float[] beta, double eps, double[] mean, double[] variance, double[] invStd,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        kernels.moments(x, xOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(), mean, variance);
        ChannelMath.normalizationParameters(t.c0(), t.c1(), mean, variance, gamma, beta, eps, invStd, centerHi,
                centerLo, scale, shift);
        normalize(x, xOffset, z, zOffset, y, yOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(), centerHi, centerLo,
                scale, shift, relu);
    }

    /** The normalize pass over the stream tiles (memory order), given every channel's coefficients. */
    private void normalizeStream(NcsShape sh, float[] x, int xOffset, float[] z, int zOffset, float[] y,
            int yOffset, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        List<Tile> tiles = Tiling.streamTiles(sh, 1);
        if (scheduler.onCallingThread(sh, 1, tiles)) {
            for (int i = 0; i < tiles.size(); i++) {
                normalizeTile(tiles.get(i), sh, x, xOffset, z, zOffset, y, yOffset, centerHi, centerLo, scale, shift,
                        relu);
            }
        } else {
            scheduler.forEachTile(sh, 1, tiles, t -> normalizeTile(t, sh, x, xOffset, z, zOffset, y, yOffset,
                    centerHi, centerLo, scale, shift, relu));
        }
    }

    private void normalizeTile(Tile t, NcsShape sh, float[] x, int xOffset, float[] z, int zOffset, float[] y,
            int yOffset, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        int at = t.offset(sh);
        normalize(x, xOffset + at, z, zOffset + at, y, yOffset + at, t.n1() - t.n0(), sh.c(), sh.s(), t.c0(),
                t.c1(), centerHi, centerLo, scale, shift, relu);
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
        BatchNormChecks.checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta,
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
        List<Tile> tiles = Tiling.tiles(sh, 2);
        if (!Tiling.sliced(tiles, sh.n())) {
            if (scheduler.onCallingThread(sh, 2, tiles)) {
                for (int i = 0; i < tiles.size(); i++) {
                    backwardBlock(tiles.get(i), sh, dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                            dxOffset, sumDy, sumDyCentered, dyScale, centeredScale, shift);
                }
            } else {
                scheduler.forEachTile(sh, 2, tiles, t -> backwardBlock(t, sh, dy, dyOffset, x, xOffset, gamma,
                        saveMean, saveInvStd, dx, dxOffset, sumDy, sumDyCentered, dyScale, centeredScale, shift));
            }
        } else {
            gradientSums(tiles, sh, dy, dyOffset, x, xOffset, saveMean, sumDy, sumDyCentered, ws);
            if (dx != null) {
                ChannelMath.inputGradientParameters(0, c, gamma, saveInvStd, sumDy, sumDyCentered, count, dyScale, centeredScale,
                        shift);
                List<Tile> stream = Tiling.streamTiles(sh, 2);
                if (scheduler.onCallingThread(sh, 2, stream)) {
                    for (int i = 0; i < stream.size(); i++) {
                        inputGradientTile(stream.get(i), sh, dy, dyOffset, x, xOffset, dx, dxOffset, saveMean,
                                dyScale, centeredScale, shift);
                    }
                } else {
                    scheduler.forEachTile(sh, 2, stream, t -> inputGradientTile(t, sh, dy, dyOffset, x, xOffset, dx,
                            dxOffset, saveMean, dyScale, centeredScale, shift));
                }
            }
        }
        ChannelMath.writeParameterGradients(c, sumDy, sumDyCentered, saveInvStd, dgamma, dbeta);
    }

    /** Sums, then dx, of one block of channels: the second pass reads dy and x from cache. */
    private void backwardBlock(Tile t, NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] saveMean, float[] saveInvStd, float[] dx, int dxOffset, double[] sumDy,
            double[] sumDyCentered, double[] dyScale, double[] centeredScale, double[] shift) {
        kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(), saveMean, sumDy,
                sumDyCentered);
        if (dx != null) {
            ChannelMath.inputGradientParameters(t.c0(), t.c1(), gamma, saveInvStd, sumDy, sumDyCentered,
                    sh.perChannel(), dyScale, centeredScale, shift);
            kernels.gradientInput(dy, dyOffset, x, xOffset, dx, dxOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(),
                    saveMean, dyScale, centeredScale, shift);
        }
    }

    private void inputGradientTile(Tile t, NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] dx, int dxOffset, float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        int at = t.offset(sh);
        kernels.gradientInput(dy, dyOffset + at, x, xOffset + at, dx, dxOffset + at, t.n1() - t.n0(), sh.c(),
                sh.s(), t.c0(), t.c1(), center, dyScale, centeredScale, shift);
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
        BatchNormChecks.checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta,
                "mean", mean, "variance", variance);
        Checks.epsilon(eps);

        try (Workspace ws = Workspace.acquire()) {
            float[] invStd = ws.floats(Workspace.Floats.INV_STD, c);
            for (int ch = 0; ch < c; ch++) {
                invStd[ch] = (float) (1.0 / Math.sqrt((double) variance[ch] + eps));
            }
            if (dgamma != null || dbeta != null) {
                double[] sumDy = ws.doubles(Workspace.Doubles.SUM_DY, c);
                double[] sumDyCentered = ws.doubles(Workspace.Doubles.SUM_DY_CENTERED, c);
                gradientSums(Tiling.tiles(sh, 2), sh, dy, dyOffset, x, xOffset, mean, sumDy, sumDyCentered, ws);
                if (dx != null) {
                    frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset, ws);
                }
                ChannelMath.writeParameterGradients(c, sumDy, sumDyCentered, invStd, dgamma, dbeta);
            } else if (dx != null) {
                frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset, ws);
            }
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
        NcsShape sh = NcsShape.of(BatchNormChecks.checkedMemoryShape(layout, shape));
        Checks.tensor("x", x, xOffset, sh);
        double[] mean = new double[sh.c()];
        double[] variance = new double[sh.c()];
        try (Workspace ws = Workspace.acquire()) {
            statistics(sh, x, xOffset, mean, variance, ws);
        }
        return ChannelMoments.fromVariance(sh.perChannel(), mean, variance);
    }

    /**
     * {@link #moments(Layout, int[], float[], int)} of a tensor in a segment; the offset counts floats.
     *
     * @throws IllegalArgumentException on a null layout, a bad shape, or a range that does not fit the segment
     */
    public ChannelMoments moments(Layout layout, int[] shape, MemorySegment x, long xOffset) {
        int[] memoryShape = BatchNormChecks.checkedMemoryShape(layout, shape);
        long[] ncs = NcsShape.reduce(memoryShape);
        Checks.segment("x", x, xOffset, ncs[3], false);
        float[] xArray = SegmentPasses.backingArray(x);
        if (xArray != null) {
            return moments(Layout.CHANNELS_FIRST, memoryShape, xArray, SegmentPasses.arrayOffset(x, xOffset));
        }
        int c = (int) ncs[1];
        double[] mean = new double[c];
        double[] variance = new double[c];
        try (Workspace ws = Workspace.acquire()) {
            passes(ncs, x).statistics(x, xOffset, mean, variance, ws);
        }
        return ChannelMoments.fromVariance(ncs[0] * ncs[2], mean, variance);
    }

    /** Mean and biased variance per channel, tiled and merged exactly as in {@link #trainArrays}. */
    private void statistics(NcsShape sh, float[] x, int xOffset, double[] mean, double[] variance, Workspace ws) {
        int c = sh.c();
        List<Tile> tiles = Tiling.tiles(sh, 1);
        boolean sliced = Tiling.sliced(tiles, sh.n());
        int slices = sliced ? Tiling.sliceCount(tiles) : 0;
        double[][] sliceMean = sliced ? ws.sliceRows(Workspace.SliceRows.MEAN, slices, c) : null;
        double[][] sliceVar = sliced ? ws.sliceRows(Workspace.SliceRows.VARIANCE, slices, c) : null;
        if (scheduler.onCallingThread(sh, 1, tiles)) {
            for (int i = 0; i < tiles.size(); i++) {
                momentsTile(tiles.get(i), sh, sliced, x, xOffset, mean, variance, sliceMean, sliceVar);
            }
        } else {
            scheduler.forEachTile(sh, 1, tiles, t -> momentsTile(t, sh, sliced, x, xOffset, mean, variance, sliceMean,
                    sliceVar));
        }
        if (sliced) {
            ChannelMath.mergeMoments(tiles, c, sh.s(), sliceMean, sliceVar, mean, variance);
        }
    }

    /** One tile's moments: into the channel's statistics, or into its slice's row when channels are sliced. */
    private void momentsTile(Tile t, NcsShape sh, boolean sliced, float[] x, int xOffset, double[] mean,
            double[] variance, double[][] sliceMean, double[][] sliceVar) {
        if (sliced) {
            kernels.moments(x, xOffset + t.offset(sh), t.n1() - t.n0(), sh.c(), sh.s(), t.c0(), t.c1(),
                    sliceMean[t.slice()], sliceVar[t.slice()]);
        } else {
            kernels.moments(x, xOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(), mean, variance);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // Explicit layouts. A channels-last tensor (N, spatial..., C in memory) is walked as the channels-first view
    // (N * spatial, C): the same per-channel reductions, vectorized across channels, no transposes.

    /**
     * Training forward of {@code x} (either layout) into a new tensor, with the batch statistics saved for
     * {@link #backward(Tensor, Tensor, float[], SavedStatistics)}; {@code running} (or null) is updated in place.
     * Allocates the output; the raw overloads write into the caller's arrays.
     *
     * @throws IllegalArgumentException as the raw overload, or if x or affine is null
     */
    public Normalized forwardTraining(Tensor x, Affine affine, double eps, RunningStats running) {
        BatchNormChecks.requireTensor("x", x);
        BatchNormChecks.requireAffine(affine);
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
        BatchNormChecks.requireTensor("x", x);
        BatchNormChecks.requireAffine(affine);
        BatchNormChecks.requireStatistics(statistics);
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
        BatchNormChecks.requireTensor("x", x);
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
        BatchNormChecks.requireTensor("x", x);
        x.requireSameShape("x", "dy", dy);
        BatchNormChecks.requireStatistics(statistics);
        int c = channels(x);
        Tensor dx = x.zerosLike();
        NormGradients g = new NormGradients(dx, new float[c], new float[c]);
        backwardFrozen(x.layout(), x.shapeUnsafe(), dy.data(), dy.offset(), x.data(), x.offset(), weight,
                statistics.mean(), statistics.variance(), eps, dx.data(), dx.offset(), g.dWeight(), g.dBias());
        return g;
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
        backward(BatchNormChecks.checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backwardFrozen(Layout layout, int[] shape, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] mean, float[] variance, double eps, float[] dx, int dxOffset, float[] dgamma,
            float[] dbeta) {
        backwardFrozen(BatchNormChecks.checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, mean, variance, eps, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardTraining(Layout layout, int[] shape, MemorySegment x, long xOffset, MemorySegment y,
            long yOffset, float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd,
            RunningStats running) {
        int[] view = BatchNormChecks.checkedMemoryShape(layout, shape);
        long[] ncs = NcsShape.reduce(shape);
        Checks.moreThanOneValuePerChannel(shape, ncs[0] * ncs[2]);
        forwardTraining(view, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd, running);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void forwardInference(Layout layout, int[] shape, MemorySegment x, long xOffset, MemorySegment y,
            long yOffset, float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        forwardInference(BatchNormChecks.checkedMemoryShape(layout, shape), x, xOffset, y, yOffset, gamma, beta, mean, variance,
                eps);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backward(Layout layout, int[] shape, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, float[] saveMean, float[] saveInvStd, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        backward(BatchNormChecks.checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, saveMean, saveInvStd, dx,
                dxOffset, dgamma, dbeta);
    }

    /** As the overload without a layout, for a tensor of logical shape (N, C, spatial...) in {@code layout}. */
    public void backwardFrozen(Layout layout, int[] shape, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, float[] mean, float[] variance, double eps, MemorySegment dx, long dxOffset,
            float[] dgamma, float[] dbeta) {
        backwardFrozen(BatchNormChecks.checkedMemoryShape(layout, shape), dy, dyOffset, x, xOffset, gamma, mean, variance, eps, dx,
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
        int[] view = BatchNormChecks.checkedMemoryShape(layout, shape);
        NcsShape sh = NcsShape.of(view);
        Checks.moreThanOneValuePerChannel(shape, sh.perChannel());
        Checks.tensor("x", x, xOffset, sh);
        Checks.tensor("y", y, yOffset, sh);
        if (residual != null) {
            Checks.tensor("residual", residual, residualOffset, sh);
        }
        BatchNormChecks.trainingParameters(shape, sh.c(), sh.perChannel(), gamma, beta, eps, saveMean, saveInvStd, running)
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
        NcsShape sh = NcsShape.of(BatchNormChecks.checkedMemoryShape(layout, shape));
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
            ChannelMath.inferenceScaleShift(c, gamma, beta, variance, eps, scale, shift);
            normalizeStream(sh, x, xOffset, residual, residualOffset, y, yOffset, mean, centerLo, scale, shift, relu);
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
        int[] view = BatchNormChecks.checkedMemoryShape(layout, shape);
        NcsShape sh = NcsShape.of(view);
        if (dx == null && dResidual == null) {
            throw new IllegalArgumentException("backwardFused needs dx or dResidual to stage the masked gradient");
        }
        BatchNormChecks.checkBackward(sh, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "saveMean", saveMean,
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
        scheduler.forEachTile(sh, 2, Tiling.streamTiles(sh, 2), t -> maskedGradient(dy, dyOffset + t.offset(sh), y,
                yOffset + t.offset(sh), staged, stagedOffset + t.offset(sh), t.n1() - t.n0(), t.c0(), t.c1(), sh, relu));
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
        Checks.segmentForward(x, xOffset, y, yOffset, ncs[3]);
        BatchNormChecks.trainingParameters(shape, c, ncs[0] * ncs[2], gamma, beta, eps, saveMean, saveInvStd, running).check();
        float[] xArray = SegmentPasses.backingArray(x);
        float[] yArray = SegmentPasses.backingArray(y);
        if (xArray != null && yArray != null) {
            forwardTraining(shape, xArray, SegmentPasses.arrayOffset(x, xOffset), yArray,
                    SegmentPasses.arrayOffset(y, yOffset), gamma, beta, eps, saveMean, saveInvStd, running);
            return;
        }

        try (Workspace ws = Workspace.acquire()) {
            double[] mean = ws.doubles(Workspace.Doubles.MEAN, c);
            double[] variance = ws.doubles(Workspace.Doubles.VARIANCE, c);
            double[] invStd = ws.doubles(Workspace.Doubles.INV_STD, c);
            passes(ncs, x, y).forwardTraining(x, xOffset, y, yOffset, gamma, beta, eps, mean, variance, invStd, ws);
            ChannelMath.finishTraining(c, mean, variance, invStd, saveMean, saveInvStd, running, ncs[0] * ncs[2]);
        }
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
        Checks.segmentForward(x, xOffset, y, yOffset, ncs[3]);
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

        try (Workspace ws = Workspace.acquire()) {
            float[] scale = ws.floats(Workspace.Floats.SCALE, c);
            float[] shift = ws.floats(Workspace.Floats.SHIFT, c);
            ChannelMath.inferenceScaleShift(c, gamma, beta, variance, eps, scale, shift);
            passes(ncs, x, y).forwardInference(x, xOffset, y, yOffset, mean, scale, shift, ws);
        }
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
        BatchNormChecks.checkSegmentBackward(ncs, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "saveMean", saveMean,
                "saveInvStd", saveInvStd);
        if (SegmentPasses.onArrays(dy, x, dx)) {
            backward(shape, SegmentPasses.backingArray(dy), SegmentPasses.arrayOffset(dy, dyOffset),
                    SegmentPasses.backingArray(x), SegmentPasses.arrayOffset(x, xOffset), gamma, saveMean, saveInvStd,
                    SegmentPasses.backingArray(dx), dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma,
                    dbeta);
            return;
        }

        try (Workspace ws = Workspace.acquire()) {
            double[] sumDy = ws.doubles(Workspace.Doubles.SUM_DY, c);
            double[] sumDyCentered = ws.doubles(Workspace.Doubles.SUM_DY_CENTERED, c);
            passes(ncs, dy, x, dx).backward(dy, dyOffset, x, xOffset, dx, dxOffset, gamma, saveMean, saveInvStd,
                    sumDy, sumDyCentered, ws);
            ChannelMath.writeParameterGradients(c, sumDy, sumDyCentered, saveInvStd, dgamma, dbeta);
        }
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
        BatchNormChecks.checkSegmentBackward(ncs, dy, dyOffset, x, xOffset, gamma, dx, dxOffset, dgamma, dbeta, "mean", mean,
                "variance", variance);
        Checks.epsilon(eps);
        if (SegmentPasses.onArrays(dy, x, dx)) {
            backwardFrozen(shape, SegmentPasses.backingArray(dy), SegmentPasses.arrayOffset(dy, dyOffset),
                    SegmentPasses.backingArray(x), SegmentPasses.arrayOffset(x, xOffset), gamma, mean, variance, eps,
                    SegmentPasses.backingArray(dx), dx == null ? 0 : SegmentPasses.arrayOffset(dx, dxOffset), dgamma,
                    dbeta);
            return;
        }

        SegmentPasses passes = passes(ncs, dy, x, dx);
        try (Workspace ws = Workspace.acquire()) {
            float[] invStd = ws.floats(Workspace.Floats.INV_STD, c);
            float[] scale = ws.floats(Workspace.Floats.SCALE, c);
            for (int ch = 0; ch < c; ch++) {
                invStd[ch] = (float) (1.0 / Math.sqrt((double) variance[ch] + eps));
            }
            ChannelMath.inferenceScaleShift(c, gamma, null, variance, eps, scale, null);
            double[] sumDy = ws.doubles(Workspace.Doubles.SUM_DY, c);
            double[] sumDyCentered = ws.doubles(Workspace.Doubles.SUM_DY_CENTERED, c);
            if (dgamma != null || dbeta != null) {
                passes.gradientSums(dy, dyOffset, x, xOffset, mean, sumDy, sumDyCentered, ws);
            }
            if (dx != null) {
                float[] zero = ws.zeroedFloats(Workspace.Floats.CENTER_LO, c);
                passes.affine(dy, dyOffset, dx, dxOffset, Tiling.streamTiles((int) ncs[0], c, (int) ncs[2], 1), zero,
                        zero, scale, zero);
            }
            ChannelMath.writeParameterGradients(c, sumDy, sumDyCentered, invStd, dgamma, dbeta);
        }
    }

    private SegmentPasses passes(long[] ncs, MemorySegment... segments) {
        return new SegmentPasses(scheduler, kernels, (int) ncs[0], (int) ncs[1], (int) ncs[2], segments);
    }

    private void frozenInputGradient(NcsShape sh, float[] dy, int dyOffset, float[] gamma, float[] variance,
            double eps, float[] dx, int dxOffset, Workspace ws) {
        int c = sh.c();
        float[] zero = ws.zeroedFloats(Workspace.Floats.CENTER_HI, c);
        float[] scale = ws.floats(Workspace.Floats.SCALE, c);
        ChannelMath.inferenceScaleShift(c, gamma, null, variance, eps, scale, null);
        // dx = (dy - 0 - 0) * scale + 0: the affine pass reads dy only, not x.
        normalizeStream(sh, dy, dyOffset, null, 0, dx, dxOffset, zero, zero, scale, zero, false);
    }

    /** Backward sums over the tiles; sliced channels add their slices' sums in slice order. */
    private void gradientSums(List<Tile> tiles, NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] center, double[] sumDy, double[] sumDyCentered, Workspace ws) {
        int c = sh.c();
        boolean sliced = Tiling.sliced(tiles, sh.n());
        int slices = sliced ? Tiling.sliceCount(tiles) : 0;
        double[][] partDy = sliced ? ws.sliceRows(Workspace.SliceRows.SUM_DY, slices, c) : null;
        double[][] partDyCentered = sliced ? ws.sliceRows(Workspace.SliceRows.SUM_DY_CENTERED, slices, c) : null;
        if (scheduler.onCallingThread(sh, 2, tiles)) {
            for (int i = 0; i < tiles.size(); i++) {
                gradientSumsTile(tiles.get(i), sh, sliced, dy, dyOffset, x, xOffset, center, sumDy, sumDyCentered,
                        partDy, partDyCentered);
            }
        } else {
            scheduler.forEachTile(sh, 2, tiles, t -> gradientSumsTile(t, sh, sliced, dy, dyOffset, x, xOffset, center,
                    sumDy, sumDyCentered, partDy, partDyCentered));
        }
        if (sliced) {
            ChannelMath.addSlices(partDy, partDyCentered, slices, c, sumDy, sumDyCentered);
        }
    }

    /** One tile's backward sums: into the channel's sums, or into its slice's row when channels are sliced. */
    private void gradientSumsTile(Tile t, NcsShape sh, boolean sliced, float[] dy, int dyOffset, float[] x,
            int xOffset, float[] center, double[] sumDy, double[] sumDyCentered, double[][] partDy,
            double[][] partDyCentered) {
        if (sliced) {
            int at = t.offset(sh);
            kernels.gradientSums(dy, dyOffset + at, x, xOffset + at, t.n1() - t.n0(), sh.c(), sh.s(), t.c0(), t.c1(),
                    center, partDy[t.slice()], partDyCentered[t.slice()]);
        } else {
            kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), sh.c(), sh.s(), t.c0(), t.c1(), center, sumDy,
                    sumDyCentered);
        }
    }

}
