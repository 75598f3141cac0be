package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The measured rule for reading rows four at a time (the bits are the same either way, so only this test sees a
 * change of the rule): rows 4 KiB apart or more, not closer.
 */
class PagesTest {

    @Test
    void rowsAPageApartAreReadFourAtATimeAndCloserRowsAreNot() {
        assertTrue(Pages.fourRowsApart(1024), "a row of exactly 4 KiB");
        assertTrue(Pages.fourRowsApart(2048), "32x7x7x2048 channels-last");
        assertFalse(Pages.fourRowsApart(1023), "just under a page");
        assertFalse(Pages.fourRowsApart(512), "32x28x28x512 channels-last, measured slower in fours");
    }
}
