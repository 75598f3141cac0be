package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, bug 2 and the inputs accepted silently before: a layer that normalized in place in eval mode must
 * not return a gradient computed from y; an x longer than its shape, a negative or NaN running variance and a
 * negative or NaN saved inverse std are rejected before anything is written.
 */
class InPlaceAndStatisticsChecksTest {

    private static final int[] DIMS = {2, 2, 1, 2};

    private static BatchNorm evalLayer() {
        BatchNorm bn = new BatchNorm(2);
        bn.setRunningMean(new float[] {1f, -1f});
        bn.setRunningVar(new float[] {4f, 0.25f});
        return bn.eval();
    }

    @Test
    void evalBackwardAfterAnInPlaceForwardIsRefusedNotWrong() {
        float[] x = {0f, 2f, 1f, -1f, 3f, 1f, -2f, 0f};
        float[] dy = {1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f};
        BatchNorm outOfPlace = evalLayer();
        outOfPlace.forward(DIMS, x.clone());
        float[] right = outOfPlace.backward(dy).dWeight();

        BatchNorm inPlace = evalLayer();
        float[] buffer = x.clone();
        inPlace.forward(DIMS, buffer, 0, buffer, 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> inPlace.backward(dy));
        assertTrue(e.getMessage().contains("in place"), e.getMessage());
        // The out-of-place gradient is the float64 one: sum over the channel of dy * (x - mean) / sqrt(var + eps).
        assertEquals((0 - 1 + 2 - 1 + 3 - 1 + 1 - 1) / Math.sqrt(4 + 1e-5), right[0], 1e-5);
        // A later out-of-place forward makes backward available again.
        inPlace.forward(DIMS, x.clone());
        assertArrayEquals(right, inPlace.backward(dy).dWeight());
    }

    @Test
    void anInputLongerThanItsShapeIsRejected() {
        BatchNorm bn = new BatchNorm(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bn.forward(DIMS, new float[9]));
        assertTrue(e.getMessage().contains("9") && e.getMessage().contains("8"), e.getMessage());
        assertEquals(0, bn.numBatchesTracked());
    }

    @Test
    void negativeOrNanRunningVarianceIsRejectedByTheSetterAndByInference() {
        BatchNorm bn = new BatchNorm(2);
        for (float bad : new float[] {-1f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bn.setRunningVar(new float[] {1f, bad}));
            assertTrue(e.getMessage().contains("runningVar[1]"), e.getMessage());
            assertArrayEquals(new float[] {1f, 1f}, bn.runningVar(), "nothing written");

            float[] y = new float[8];
            Arrays.fill(y, 7f);
            e = assertThrows(IllegalArgumentException.class, () -> BatchNormOps.get().forwardInference(DIMS,
                    new float[8], 0, y, 0, null, null, new float[2], new float[] {bad, 1f}, 1e-5));
            assertTrue(e.getMessage().contains("variance[0]"), e.getMessage());
            assertEquals(7f, y[0], "nothing written");
            e = assertThrows(IllegalArgumentException.class, () -> BatchNormOps.get().backwardFrozen(DIMS,
                    new float[8], 0, new float[8], 0, null, new float[2], new float[] {1f, bad}, 1e-5, y, 0, null,
                    null));
            assertTrue(e.getMessage().contains("variance[1]"), e.getMessage());
        }
    }

    @Test
    void negativeOrNanSavedInverseStdIsRejectedByBackward() {
        for (float bad : new float[] {-0.5f, Float.NaN}) {
            float[] dx = new float[8];
            Arrays.fill(dx, 7f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchNormOps.get()
                    .backward(DIMS, new float[8], 0, new float[8], 0, null, new float[2], new float[] {1f, bad}, dx,
                            0, null, null));
            assertTrue(e.getMessage().contains("saveInvStd[1]"), e.getMessage());
            assertEquals(7f, dx[0], "nothing written");
        }
    }
}
