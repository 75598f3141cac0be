package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import org.junit.jupiter.api.Test;

/** The warm-up finishes, runs in the background when asked, and changes no result. */
class WarmUpTest {

    private static float[] train(int[] dims) {
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.MIXTURE.tensor(sh, 5);
        float[] y = new float[sh.size()];
        float[] mean = new float[sh.c()];
        BatchNormOps.get().singleThreaded().forwardTraining(dims, x, 0, y, 0, null, null, 1e-5, mean, null, null);
        float[] all = new float[y.length + mean.length];
        System.arraycopy(y, 0, all, 0, y.length);
        System.arraycopy(mean, 0, all, y.length, mean.length);
        return all;
    }

    @Test
    void backgroundWarmUpFinishesAndResultsDoNotDependOnIt() throws Exception {
        int[] dims = {4, 8, 7, 7};
        float[] before = train(dims);
        Thread t = WarmUp.start();
        assertEquals("vecnorm-warm-up", t.getName());
        assertTrue(t.isDaemon());
        t.join(120_000);
        assertFalse(t.isAlive(), "the warm-up did not finish within two minutes");
        assertArrayEquals(before, train(dims));
    }
}
