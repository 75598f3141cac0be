package dev.vecnorm;

import dev.vecnorm.kernels.BatchNormKernels;
import dev.vecnorm.kernels.Kernels;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

/**
 * The functional batch-normalization API over float32 NCHW tensors of rank 2 to 5 (like
 * {@code torch.nn.functional.batch_norm} and ATen's {@code native_batch_norm_backward}).
 *
 * <p>Tensors are {@code float[]} plus an offset and an {@code int[]} shape; per-channel arrays have length exactly
 * C. {@code gamma} and {@code beta} are optional everywhere: {@code null} means 1 and 0 (affine off). Every call
 * validates all of its arguments first and throws {@link IllegalArgumentException} naming the offending argument
 * and value before anything is written.
 *
 * <p>Aliasing: {@code y} may be {@code x} (same array and offset: in place); {@code dx} may be {@code dy} or
 * {@code x}. Inputs may share arrays freely. No other output may overlap any argument.
 *
 * <p>Threads: {@link #get()} spreads the channel blocks of a large tensor over a shared pool sized to the
 * available processors; {@link #parallel(ForkJoinPool)} uses the caller's pool and {@link #singleThreaded()}
 * runs on the calling thread. Every channel is computed by one thread from its own data in a fixed order, so
 * results are bitwise identical for any thread count. Tensors below {@link #PARALLEL_MIN_ELEMENTS} elements
 * stay on the calling thread.
 *
 * <p>Instances are immutable and safe to use from many threads at once.
 */
public final class BatchNormOps {

    /**
     * Channel blocks are sized so that a block's slice stays in L2 between the statistics and normalize passes.
     * The system property vecnorm.cacheBlockBytes overrides it (tests use tiny blocks to run many of them).
     */
    private static final long CACHE_BLOCK_BYTES = Long.getLong("vecnorm.cacheBlockBytes", 512 * 1024);

    /**
     * Below this many elements (times the tensors a pass reads) a call stays on the calling thread. Measured on
     * 2 cores: 256x1024 (262K elements) trains in 0.15 ms on one thread and 0.19 ms on two; 32x2048x7x7 (3.2M)
     * in 2.9 ms on one and 1.75 ms on two. The system property vecnorm.parallelMinElements overrides it (the
     * property tests set 0 to run their small tensors through the pool).
     */
    public static final long PARALLEL_MIN_ELEMENTS = Long.getLong("vecnorm.parallelMinElements", 1 << 21);

    private static final class DefaultHolder {
        static final ForkJoinPool POOL = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
        static final BatchNormOps DEFAULT = new BatchNormOps(Kernels.preferred(), POOL);
    }

    private final BatchNormKernels kernels;
    /** Where channel blocks run; null: on the calling thread. */
    private final ForkJoinPool pool;

    private BatchNormOps(BatchNormKernels kernels, ForkJoinPool pool) {
        this.kernels = kernels;
        this.pool = pool;
    }

    /** The operations backed by {@link Kernels#preferred()} (Vector API when available), on the shared pool. */
    public static BatchNormOps get() {
        return DefaultHolder.DEFAULT;
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
        NcsShape sh = NcsShape.of(shape);
        int c = sh.c();
        Checks.tensor("x", x, xOffset, sh);
        Checks.tensor("y", y, yOffset, sh);
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("saveMean", saveMean, c, true);
        Checks.channels("saveInvStd", saveInvStd, c, true);
        if (running != null) {
            Checks.channels("running mean", running.mean(), c, false);
            Checks.channels("running variance", running.variance(), c, false);
        }
        Checks.epsilon(eps);
        Checks.moreThanOneValuePerChannel(shape, sh);
        new Checks.Regions()
                .input("x", x, xOffset, sh.size())
                .output("y", y, yOffset, sh.size())
                .inPlace("y", "x")
                .input("gamma", gamma)
                .input("beta", beta)
                .output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd)
                .output("running mean", running == null ? null : running.mean())
                .output("running variance", running == null ? null : running.variance())
                .check();

        double[] mean = new double[c];
        double[] variance = new double[c];
        double[] invStd = new double[c];
        float[] centerHi = new float[c];
        float[] centerLo = new float[c];
        float[] scale = new float[c];
        float[] shift = new float[c];
        forEachBlock(sh, 1, (c0, c1) -> {
            // Statistics, then normalize, per block of channels: the second pass reads x from L2.
            kernels.moments(x, xOffset, sh.n(), c, sh.s(), c0, c1, mean, variance);
            for (int ch = c0; ch < c1; ch++) {
                invStd[ch] = 1.0 / Math.sqrt(variance[ch] + eps);
                centerHi[ch] = (float) mean[ch];
                centerLo[ch] = (float) (mean[ch] - centerHi[ch]);
                scale[ch] = (float) (gammaOf(gamma, ch) * invStd[ch]);
                shift[ch] = betaOf(beta, ch);
            }
            kernels.affine(x, xOffset, y, yOffset, sh.n(), c, sh.s(), c0, c1, centerHi, centerLo, scale, shift);
        });
        for (int ch = 0; ch < c; ch++) {
            if (saveMean != null) {
                saveMean[ch] = (float) mean[ch];
            }
            if (saveInvStd != null) {
                saveInvStd[ch] = (float) invStd[ch];
            }
        }
        if (running != null) {
            updateRunningStats(running, mean, variance, sh.perChannel());
        }
    }

    /**
     * Inference forward with given statistics: {@code y = (x - mean) / sqrt(var + eps) * gamma + beta}.
     *
     * @throws IllegalArgumentException on a bad shape, length, offset, eps or aliasing
     */
    public void forwardInference(int[] shape, float[] x, int xOffset, float[] y, int yOffset,
            float[] gamma, float[] beta, float[] mean, float[] variance, double eps) {
        NcsShape sh = NcsShape.of(shape);
        int c = sh.c();
        Checks.tensor("x", x, xOffset, sh);
        Checks.tensor("y", y, yOffset, sh);
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("mean", mean, c, false);
        Checks.channels("variance", variance, c, false);
        Checks.epsilon(eps);
        new Checks.Regions()
                .input("x", x, xOffset, sh.size())
                .output("y", y, yOffset, sh.size())
                .inPlace("y", "x")
                .input("gamma", gamma)
                .input("beta", beta)
                .input("mean", mean)
                .input("variance", variance)
                .check();

        float[] centerLo = new float[c];
        float[] scale = new float[c];
        float[] shift = new float[c];
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
            shift[ch] = betaOf(beta, ch);
        }
        forEachBlock(sh, 1, (c0, c1) -> kernels.affine(x, xOffset, y, yOffset, sh.n(), c, sh.s(), c0, c1, mean,
                centerLo, scale, shift));
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

        double[] sumDy = new double[c];
        double[] sumDyCentered = new double[c];
        double[] dyScale = new double[c];
        double[] centeredScale = new double[c];
        double[] shift = new double[c];
        double count = sh.perChannel();
        forEachBlock(sh, 2, (c0, c1) -> {
            // Sums, then dx, per block of channels: the second pass reads dy and x from L2.
            kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), c, sh.s(), c0, c1, saveMean, sumDy,
                    sumDyCentered);
            if (dx == null) {
                return;
            }
            for (int ch = c0; ch < c1; ch++) {
                double invStd = saveInvStd[ch];
                double k = gammaOf(gamma, ch) * invStd;
                dyScale[ch] = k;
                centeredScale[ch] = k * invStd * invStd * sumDyCentered[ch] / count;
                shift[ch] = k * sumDy[ch] / count;
            }
            kernels.gradientInput(dy, dyOffset, x, xOffset, dx, dxOffset, sh.n(), c, sh.s(), c0, c1,
                    saveMean, dyScale, centeredScale, shift);
        });
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
            forEachBlock(sh, 2, (c0, c1) -> kernels.gradientSums(dy, dyOffset, x, xOffset, sh.n(), c, sh.s(), c0,
                    c1, mean, sumDy, sumDyCentered));
            if (dx != null) {
                frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset);
            }
            writeParameterGradients(c, sumDy, sumDyCentered, invStd, dgamma, dbeta);
        } else if (dx != null) {
            frozenInputGradient(sh, dy, dyOffset, gamma, variance, eps, dx, dxOffset);
        }
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
        forEachBlock(sh, 1, (c0, c1) -> kernels.affine(dy, dyOffset, dx, dxOffset, sh.n(), c, sh.s(), c0, c1, zero,
                zero, scale, zero));
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
        Checks.channels("gamma", gamma, c, true);
        Checks.channels(meanName, mean, c, false);
        Checks.channels(spreadName, spread, c, false);
        Checks.channels("dgamma", dgamma, c, true);
        Checks.channels("dbeta", dbeta, c, true);
        new Checks.Regions()
                .input("dy", dy, dyOffset, sh.size())
                .input("x", x, xOffset, sh.size())
                .output("dx", dx, dxOffset, sh.size())
                .inPlace("dx", "dy")
                .inPlace("dx", "x")
                .input("gamma", gamma)
                .input(meanName, mean)
                .input(spreadName, spread)
                .output("dgamma", dgamma)
                .output("dbeta", dbeta)
                .check();
    }

    private static void writeParameterGradients(int c, double[] sumDy, double[] sumDyCentered, float[] invStd,
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

    private interface ChannelRange {
        void run(int c0, int c1);
    }

    /**
     * Runs a pass over every L2-sized block of channels, on the pool when there is enough work for more than one
     * thread. Each channel's result depends only on its own data, never on which thread or block computed it, so
     * results are bitwise identical for any number of threads.
     */
    private void forEachBlock(NcsShape sh, int tensors, ChannelRange pass) {
        int block = channelsPerBlock(sh, tensors);
        int blocks = (sh.c() + block - 1) / block;
        int tasks = pool == null || (long) sh.size() * tensors < PARALLEL_MIN_ELEMENTS ? 1
                : Math.min(blocks, pool.getParallelism());
        if (tasks <= 1) {
            for (int c0 = 0; c0 < sh.c(); c0 += block) {
                pass.run(c0, Math.min(sh.c(), c0 + block));
            }
            return;
        }
        // Task t takes blocks t, t + tasks, t + 2*tasks...: neighbours share the memory bus evenly.
        List<Callable<Void>> work = new ArrayList<>(tasks);
        for (int t = 0; t < tasks; t++) {
            int first = t;
            work.add(() -> {
                for (int b = first; b < blocks; b += tasks) {
                    int c0 = b * block;
                    pass.run(c0, Math.min(sh.c(), c0 + block));
                }
                return null;
            });
        }
        try {
            for (Future<Void> f : pool.invokeAll(work)) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for batch-norm workers", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a batch-norm worker failed", e.getCause());
        }
    }

    /** Channels whose slices of {@code tensors} input tensors fit the cache budget together (at least 1). */
    private static int channelsPerBlock(NcsShape sh, int tensors) {
        long bytesPerChannel = 4L * tensors * sh.perChannel();
        return (int) Math.max(1, Math.min(sh.c(), CACHE_BLOCK_BYTES / bytesPerChannel));
    }

    private static double gammaOf(float[] gamma, int ch) {
        return gamma == null ? 1.0 : gamma[ch];
    }

    private static float betaOf(float[] beta, int ch) {
        return beta == null ? 0f : beta[ch];
    }
}
