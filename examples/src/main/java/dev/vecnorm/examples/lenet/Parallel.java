package dev.vecnorm.examples.lenet;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Splits a batch into contiguous parts, one per thread; part 0 runs on the calling thread. */
final class Parallel implements AutoCloseable {

    /** Work on samples [from, to) as part {@code part} of {@link #parts()}. */
    interface Range {
        void run(int part, int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;

    Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "lenet-worker");
            t.setDaemon(true);
            return t;
        });
    }

    int parts() {
        return threads;
    }

    void forEach(int n, Range body) {
        if (pool == null || n < 2 * threads) {
            body.run(0, 0, n);
            return;
        }
        Future<?>[] futures = new Future<?>[threads - 1];
        for (int p = 1; p < threads; p++) {
            int part = p;
            futures[p - 1] = pool.submit(() -> body.run(part, n * part / threads, n * (part + 1) / threads));
        }
        body.run(0, 0, n / threads);
        try {
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
