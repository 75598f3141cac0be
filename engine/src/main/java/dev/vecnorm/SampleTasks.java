package dev.vecnorm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

/**
 * Spreads independent samples over a pool: task t of T takes samples t, t + T, t + 2T... Each sample's
 * results are computed by one thread from that sample alone, so they do not depend on the thread count.
 */
final class SampleTasks {

    /** Work over the samples {@code first, first + stride, ...} below the sample count. */
    @FunctionalInterface
    interface Job {
        void run(int first, int stride);
    }

    private SampleTasks() {
    }

    /**
     * Runs {@code job} on the calling thread when {@code pool} is null, there is one sample, or {@code elements}
     * (times the tensors a pass reads) is under {@link BatchNormOps#PARALLEL_MIN_ELEMENTS}; else in up to the
     * pool's parallelism tasks.
     */
    static void run(ForkJoinPool pool, int samples, long elements, Job job) {
        int tasks = pool == null || elements < BatchNormOps.PARALLEL_MIN_ELEMENTS ? 1
                : Math.min(samples, pool.getParallelism());
        if (tasks <= 1) {
            job.run(0, 1);
            return;
        }
        List<Callable<Void>> jobs = new ArrayList<>(tasks);
        for (int t = 0; t < tasks; t++) {
            int first = t;
            int stride = tasks;
            jobs.add(() -> {
                job.run(first, stride);
                return null;
            });
        }
        try {
            for (Future<Void> f : pool.invokeAll(jobs)) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for normalization workers", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a normalization worker failed", e.getCause());
        }
    }
}
