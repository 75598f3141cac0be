package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** How tensors are cut: every element in exactly one tile, and the cut the passes rely on. */
@Tag("width-independent")
class TilesTest {

    private static final int[][] SHAPES = {{1, 1, 1}, {32, 256, 3136}, {32, 64, 12544}, {256, 1024, 1}, {1, 64, 3136},
        {8, 3, 50176}, {1, 3, 1 << 20}, {524288, 4, 1}, {5, 7, 9}, {100352, 256, 1}, {100352, 3, 1},
        {256, 6, 576}, {32, 64, 784}, {256, 16, 64}};

    /** Marks every element of every tile and checks each was marked once. */
    private static void coversOnce(List<Tile> tiles, int n, int c, int s) {
        int[] hits = new int[n * c];
        for (Tile t : tiles) {
            assertTrue(t.c0() < t.c1() && t.n0() < t.n1(), t.toString());
            for (int i = t.n0(); i < t.n1(); i++) {
                for (int ch = t.c0(); ch < t.c1(); ch++) {
                    hits[i * c + ch]++;
                }
            }
        }
        for (int k = 0; k < hits.length; k++) {
            assertEquals(1, hits[k], "run " + k + " of " + n + "x" + c + "x" + s);
        }
    }

    @Test
    void reductionTilesCoverEveryRunOnceAndKeepChannelsWholeOrSlicedAlongN() {
        for (int[] d : SHAPES) {
            for (int tensors = 1; tensors <= 2; tensors++) {
                List<Tile> tiles = Tiling.tiles(d[0], d[1], d[2], tensors);
                coversOnce(tiles, d[0], d[1], d[2]);
                boolean sliced = tiles.get(0).n1() < d[0];
                for (Tile t : tiles) {
                    // A reduction tile is whole channels, a slice of exactly one channel, or a slice of whole
                    // rows.
                    boolean rowSlice = t.c0() == 0 && t.c1() == d[1];
                    assertTrue(sliced ? t.c1() - t.c0() == 1 || rowSlice : t.n0() == 0 && t.n1() == d[0],
                            t.toString());
                }
            }
        }
    }

    @Test
    void streamTilesCoverEveryRunOnceAsContiguousStretchesInMemoryOrder() {
        for (int[] d : SHAPES) {
            List<Tile> tiles = Tiling.streamTiles(d[0], d[1], d[2], 1);
            coversOnce(tiles, d[0], d[1], d[2]);
            long next = 0;
            for (Tile t : tiles) {
                // Contiguous: either whole rows, or a channel block inside one row; each starts where the
                // previous ended.
                assertTrue(t.c0() == 0 && t.c1() == d[1] || t.n1() - t.n0() == 1, t.toString());
                long start = ((long) t.n0() * d[1] + t.c0()) * d[2];
                assertEquals(next, start, t.toString());
                next = ((long) (t.n1() - 1) * d[1] + t.c1()) * d[2];
            }
            assertEquals((long) d[0] * d[1] * d[2], next);
        }
    }

    @Test
    void shortRunsWithManyRowsAreCutIntoSlicesOfWholeRows() {
        // Channels-last 32x56x56x256 as a rank-2 view: 100352 rows of 256 channels.
        List<Tile> tiles = Tiling.tiles(100352, 256, 1, 1);
        assertTrue(tiles.size() > 1);
        for (int k = 0; k < tiles.size(); k++) {
            Tile t = tiles.get(k);
            assertEquals(0, t.c0());
            assertEquals(256, t.c1());
            assertEquals(k, t.slice());
        }
    }

    @Test
    void manySamplesOfFewChannelsThatFitL3AreCutIntoRowSlicesInMemoryOrder() {
        // LeNet's first BatchNorm, backward (dy and x): 7 MB, and 4 MiB channel blocks of 3 channels would walk
        // each row in 6.9 KiB stretches.
        List<Tile> tiles = Tiling.tiles(256, 6, 576, 2);
        assertEquals(2, tiles.size());
        int next = 0;
        for (int k = 0; k < tiles.size(); k++) {
            Tile t = tiles.get(k);
            assertEquals(0, t.c0());
            assertEquals(6, t.c1());
            assertEquals(next, t.n0());
            assertEquals(k, t.slice());
            next = t.n1();
        }
        assertEquals(256, next);
    }

    @Test
    void channelBlocksStayWhereTheirStretchesAreLongOrTheTensorOutgrowsL3() {
        // 32x64x28x28 backward fits L3, but a 20-channel block walks each row in 61 KiB stretches.
        List<Tile> fits = Tiling.tiles(32, 64, 784, 2);
        assertTrue(fits.size() > 1);
        for (Tile t : fits) {
            assertEquals(0, t.n0());
            assertEquals(32, t.n1());
        }
        // 256x6x24x24 scaled past L3 (4550 samples, 126 MB, 21 MB per channel): slices of one channel along N.
        List<Tile> big = Tiling.tiles(4550, 6, 576, 2);
        assertTrue(Tiling.sliced(big, 4550));
        coversOnce(big, 4550, 6, 576);
        // 4 MiB slices of 8 B x 576 per sample: 910 samples, exactly five slices per channel, in N order.
        assertEquals(5, Tiling.sliceCount(big));
        assertEquals(6 * 5, big.size());
        for (Tile t : big) {
            assertEquals(t.n0() / 910, t.slice(), t.toString());
            assertEquals(1, t.c1() - t.c0(), t.toString());
        }
        // Exactly at the bounds: a pass of exactly 16 MiB still takes row slices; stretches of exactly 32 KiB
        // keep their channel blocks.
        // A channel of exactly twice the budget (8 MiB) stays whole.
        List<Tile> atTwice = Tiling.tiles(1024, 3, 1024, 2);
        assertEquals(3, atTwice.size());
        for (Tile t : atTwice) {
            assertEquals(1024, t.n1() - t.n0(), t.toString());
        }
        List<Tile> atL3 = Tiling.tiles(256, 16, 1024, 1);
        assertTrue(atL3.size() > 1);
        for (Tile t : atL3) {
            assertEquals(16, t.c1() - t.c0(), t.toString());
        }
        // One step past each bound: 256 samples of 17 such channels (17 MiB) keep channel blocks; stretches of
        // 31 KiB (blocks of four channels of 1984 floats; 128x16 such runs, 15.5 MiB) take row slices.
        for (Tile tile : Tiling.tiles(256, 17, 1024, 1)) {
            assertEquals(256, tile.n1() - tile.n0(), tile.toString());
        }
        List<Tile> underStretch = Tiling.tiles(128, 16, 1984, 1);
        assertTrue(Tiling.sliced(underStretch, 128));
        for (Tile tile : underStretch) {
            assertEquals(16, tile.c1() - tile.c0(), tile.toString());
        }
        List<Tile> atStretch = Tiling.tiles(128, 16, 1024, 1);
        assertEquals(2, atStretch.size());
        for (Tile t : atStretch) {
            assertEquals(8, t.c1() - t.c0(), t.toString());
            assertEquals(128, t.n1());
        }
        // The forward's statistics (x alone, 3.5 MB) fit one block: one tile, nothing to slice.
        assertEquals(1, Tiling.tiles(256, 6, 576, 1).size());
    }
}
