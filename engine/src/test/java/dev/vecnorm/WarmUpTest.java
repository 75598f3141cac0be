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

    /** LayerNorm forward and backward on rows of a page and a tail (outputs, statistics and gradients). */
    private static float[] layerNorm() {
        int[] shape = {3, 1030};
        float[] x = Distribution.MIXTURE.tensor(NcsShape.of(new int[] {3, 1030}), 7);
        float[] dy = Distribution.NORMAL.tensor(NcsShape.of(new int[] {3, 1030}), 8);
        float[] gamma = new float[1030];
        java.util.Arrays.fill(gamma, 0.75f);
        float[] all = new float[2 * x.length + 2 * 3 + 2 * 1030];
        float[] y = new float[x.length];
        float[] dx = new float[x.length];
        float[] mean = new float[3];
        float[] invStd = new float[3];
        float[] dgamma = new float[1030];
        float[] dbeta = new float[1030];
        LayerNormOps ops = LayerNormOps.get().singleThreaded();
        ops.forward(shape, -1, x, 0, y, 0, gamma, null, 1e-5, mean, invStd);
        ops.backward(shape, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        int at = 0;
        for (float[] part : new float[][] {y, dx, mean, invStd, dgamma, dbeta}) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    @Test
    void backgroundWarmUpFinishesAndResultsDoNotDependOnIt() throws Exception {
        int[] dims = {4, 8, 7, 7};
        float[] before = train(dims);
        float[] layerBefore = layerNorm();
        Thread t = WarmUp.start();
        assertEquals("vecnorm-warm-up", t.getName());
        assertTrue(t.isDaemon());
        t.join(120_000);
        assertFalse(t.isAlive(), "the warm-up did not finish within two minutes");
        assertArrayEquals(before, train(dims));
        assertArrayEquals(layerBefore, layerNorm(), "LayerNorm, which the warm-up also drives");
    }
}
