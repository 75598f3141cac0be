package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The measured layout rule for side-by-side scratch rows (the bits are the same for any stride of at least the
 * width, so only this test sees a change of the rule): the smallest stride that fits the row and puts the next row
 * 21 cache lines past it modulo a page.
 */
class StaggeredRowsTest {

    @Test
    void strideFitsTheRowAndStaggersRowsByTwentyOneLinesModuloAPage() {
        for (int bytes : new int[] {Float.BYTES, Double.BYTES}) {
            int perPage = 4096 / bytes;
            for (int width = 1; width <= 5000; width++) {
                int stride = StaggeredRows.stride(width, bytes);
                String at = "width " + width + ", " + bytes + "-byte elements";
                assertTrue(stride >= width, at);
                assertTrue(stride - width < perPage, at + ": no more than a page of padding");
                assertEquals(21 * 64, (long) stride * bytes % 4096, at);
            }
        }
    }

    @Test
    void rowsOfHundredsOfChannelsAreNoLongerAMultipleOfAKibibyteApart() {
        assertEquals(512 + 848, StaggeredRows.stride(512, Float.BYTES), "channels-last 32x28x28x512 normalize");
        assertEquals(512 + 168, StaggeredRows.stride(512, Double.BYTES), "its backward sums");
        assertEquals(336, StaggeredRows.stride(256, Float.BYTES), "a row of 256 floats needs only 80 more");
    }
}
