package dev.vecnorm;

import java.util.ArrayList;
import java.util.List;

/**
 * How a batch-norm pass cuts an (n, c, s) tensor into {@link Tile}s: blocks of channels that stay in cache between
 * the statistics and normalize passes, slices along N for channels too large for that, and stretches of memory
 * for the element-wise passes. The cut depends on the shape only, never on the thread count: that fixes the
 * reduction tree, so results are bitwise the same on any number of threads.
 */
final class Tiling {

    /** Runs shorter than this (in floats) count as short for tiling: no wider vector exists. */
    private static final int SHORT_RUN = 16;

    /**
     * Channel blocks are sized so that a block stays in cache between the statistics and normalize passes. 4 MiB
     * (a share of L3, not L2): each pass streams a block in memory order, and larger blocks mean fewer restarts
     * of the prefetchers and fewer per-block costs. Measured on a Zen 5 host (1 MiB L2, 32 MiB L3), 1 thread,
     * training: 32x256x56x56 at 55-59% of the copy floor vs 43-55% with 0.5-1 MiB blocks; 32x2048x7x7 1.3-1.5 ms
     * vs 1.3-2.2 ms. The system property vecnorm.cacheBlockBytes overrides it (tests use tiny blocks to run
     * many of them).
     */
    private static final long CACHE_BLOCK_BYTES = Long.getLong("vecnorm.cacheBlockBytes", 4L << 20);

    /**
     * A pass whose tensors fit this together stays in L3 between its two passes in whatever order it walks them,
     * so channel blocks buy nothing there and only cost stretch length (below). Half a 32 MiB L3: the output and
     * whatever the caller touches between calls share it.
     */
    private static final long L3_BLOCK_BYTES = 4 * CACHE_BLOCK_BYTES;

    /**
     * A channel block walks each row of the batch in stretches of (channels in the block) x S floats, restarting
     * the hardware prefetchers at every one; under this many bytes that costs more than the block saves.
     * Measured in the LeNet example's training loop (256x6x24x24 backward, data cold in L2 as between a
     * network's forward and backward): 6.9 KiB stretches (4 MiB blocks of 3 channels) 0.94-1.02 ms, one
     * contiguous pass 0.59-0.69 ms, 2.3 KiB stretches 1.0-1.1 ms.
     */
    private static final long SHORT_STRETCH_BYTES = 32 << 10;

    private Tiling() {
    }

    /**
     * Blocks of channels that fit the cache budget together; a channel that is larger than twice the budget is
     * instead cut along N into slices of about the budget each, so that few large channels still make many tiles.
     */
    static List<Tile> tiles(NcsShape sh, int tensors) {
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
            return rowSlices(n, c, bytesPerRow);
        }
        long bytesPerChannel = bytesPerRun * n;
        int block = (int) Math.max(1, Math.min(c, CACHE_BLOCK_BYTES / bytesPerChannel));
        if (block < c && n > 1 && bytesPerRow * n <= L3_BLOCK_BYTES && 4L * block * s < SHORT_STRETCH_BYTES) {
            // Many samples of few channels that fit L3 together (LeNet's 256x6x24x24): channel blocks would walk
            // every row in short stretches; slices of whole rows stream in memory order, and the second pass
            // finds the tensor in L3 anyway. Their moments merge per channel in slice order.
            return rowSlices(n, c, bytesPerRow);
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
        for (int c0 = 0; c0 < c; c0 += block) {
            tiles.add(new Tile(c0, Math.min(c, c0 + block), 0, n, 0));
        }
        return tiles;
    }

    /** Slices of whole rows of about the cache budget each, numbered in memory order. */
    private static List<Tile> rowSlices(int n, int c, long bytesPerRow) {
        List<Tile> tiles = new ArrayList<>();
        int rows = (int) Math.max(1, CACHE_BLOCK_BYTES / bytesPerRow);
        for (int n0 = 0, k = 0; n0 < n; n0 += rows, k++) {
            tiles.add(new Tile(0, c, n0, Math.min(n, n0 + rows), k));
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

    static List<Tile> streamTiles(NcsShape sh, int tensors) {
        return TilePlans.of(TilePlans.Kind.STREAM, sh.n(), sh.c(), sh.s(), tensors);
    }

    /** True if {@link #tiles} cut the channels along N (their statistics then need a merge across slices). */
    static boolean sliced(List<Tile> tiles, int n) {
        return tiles.get(0).n1() < n;
    }

    /** Slices per channel of sliced tiles. A plain loop: a stream here allocated ~240 B per sliced call. */
    static int sliceCount(List<Tile> tiles) {
        int most = 0;
        for (int i = 0; i < tiles.size(); i++) {
            most = Math.max(most, tiles.get(i).slice());
        }
        return most + 1;
    }
}
