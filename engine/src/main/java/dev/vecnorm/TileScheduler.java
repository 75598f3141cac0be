package dev.vecnorm;

import java.util.List;
import java.util.concurrent.ForkJoinPool;

/**
 * Runs a pass's tiles on the calling thread or spread over a pool. Which thread runs a tile never changes its
 * result, so the results are bitwise those of one thread.
 *
 * @param pool where tiles run; null: on the calling thread
 */
record TileScheduler(ForkJoinPool pool) {

    /**
     * Runs work on every tile, on the pool when there is enough work for more than one thread. Each tile's
     * result depends only on its own data, never on which thread computed it, so results are bitwise identical
     * for any number of threads.
     */
    void forEachTile(NcsShape sh, int tensors, List<Tile> tiles, Tile.Work work) {
        forEachTile((long) sh.size() * tensors, tiles, work);
    }

    /**
     * Whether {@link #forEachTile} would run these tiles on the calling thread. The hot passes ask first and then
     * loop over the tiles themselves: a capturing lambda handed to forEachTile escapes to the pool on its other
     * branch, so escape analysis can't remove it, and it cost about 100 B per call (training 168 -> 72 B per call
     * on 256x1024 and 32x64x56x56 at one thread, measured with ThreadMXBean on 2026-12-04).
     */
    boolean onCallingThread(NcsShape sh, int tensors, List<Tile> tiles) {
        return onCallingThread((long) sh.size() * tensors, tiles);
    }

    /** As above, for {@code work} = elements times tensors read. */
    boolean onCallingThread(long work, List<Tile> tiles) {
        return pool == null || work < ParallelUnits.MIN_ELEMENTS || tiles.size() == 1 || pool.getParallelism() == 1;
    }

    /** As above, for {@code work} = elements times tensors read. */
    void forEachTile(long work, List<Tile> tiles, Tile.Work job) {
        if (onCallingThread(work, tiles)) {
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
}
