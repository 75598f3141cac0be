package dev.vecnorm.spark;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.ChannelMoments;
import dev.vecnorm.Layout;
import dev.vecnorm.RunningStats;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.spark.BarrierTaskContext;

/**
 * Synchronized batch normalization statistics for data-parallel training (PyTorch's SyncBatchNorm): each worker
 * computes the moments of its local batch, the moments of all workers merge (Chan: weighted by each worker's
 * count) into the moments of the global batch, and every worker normalizes its own batch with those and moves its
 * running statistics by them, so that all workers agree with one machine training on the whole batch (within
 * float rounding). Only the forward statistics are synchronized here; the backward all-reduce of the gradient sums
 * is not.
 */
public final class SyncBatchNorm {

    private SyncBatchNorm() {
    }

    /**
     * The global moments from every worker's local ones, merged in worker (rank) order: the same bits on every
     * worker that merges the same list.
     *
     * @throws IllegalArgumentException if the list is null or empty, holds null, or channel counts differ
     */
    public static ChannelMoments merge(List<ChannelMoments> perWorker) {
        return ChannelMoments.mergeAll(perWorker);
    }

    /**
     * Inside a Spark barrier stage ({@code rdd.barrier().mapPartitions(...)}): sends this task's local moments
     * to every task of the stage and returns the global moments, merged in partition order, identical on every
     * task. Every task of the stage must call it the same number of times.
     *
     * @throws IllegalArgumentException if context or local is null, or another task's moments have another
     *     channel count
     */
    public static ChannelMoments allGather(BarrierTaskContext context, ChannelMoments local) {
        if (context == null) {
            throw new IllegalArgumentException("context must not be null");
        }
        if (local == null) {
            throw new IllegalArgumentException("local must not be null");
        }
        // allGather returns the messages ordered by partition id: the merge order is fixed.
        String[] all = context.allGather(Base64.getEncoder().encodeToString(local.toBytes()));
        List<ChannelMoments> perTask = new ArrayList<>(all.length);
        for (String message : all) {
            perTask.add(ChannelMoments.fromBytes(Base64.getDecoder().decode(message)));
        }
        return merge(perTask);
    }

    /**
     * A training forward of this worker's batch with the global statistics: {@code y = (x - mean) /
     * sqrt(var + eps) * gamma + beta} with the global batch mean and biased variance, and, if {@code running} is
     * not null, the running statistics moved by the global batch as its convention says.
     *
     * @param global the merged moments (from {@link #allGather} or {@link #merge}), at least 2 values per channel
     * @throws IllegalArgumentException on a bad shape, length, offset, eps, aliasing, or global moments of another
     *     channel count, before anything is written
     * @throws IllegalStateException if the global batch has fewer than 2 values per channel
     */
    public static void forward(BatchNormOps ops, ChannelMoments global, Layout layout, int[] shape, float[] x,
            int xOffset, float[] y, int yOffset, float[] gamma, float[] beta, double eps, RunningStats running) {
        if (ops == null) {
            throw new IllegalArgumentException("ops must not be null");
        }
        if (global == null) {
            throw new IllegalArgumentException("global must not be null");
        }
        if (shape != null && shape.length >= 2 && shape[1] != global.channels()) {
            throw new IllegalArgumentException("shape has C = " + shape[1] + " but the global moments have "
                    + global.channels() + " channels");
        }
        if (global.count() < 2) {
            throw new IllegalStateException("Expected more than 1 value per channel in the global batch, got "
                    + global.count());
        }
        if (running != null && running.mean().length != global.channels()) {
            throw new IllegalArgumentException("running mean has length " + running.mean().length
                    + ", expected C = " + global.channels());
        }
        double[] variance = global.variance();
        float[] mean = new float[global.channels()];
        float[] var = new float[global.channels()];
        for (int ch = 0; ch < mean.length; ch++) {
            mean[ch] = (float) global.mean(ch);
            var[ch] = (float) variance[ch];
        }
        ops.forwardInference(layout, shape, x, xOffset, y, yOffset, gamma, beta, mean, var, eps);
        if (running != null) {
            global.updateRunningStats(running);
        }
    }
}
