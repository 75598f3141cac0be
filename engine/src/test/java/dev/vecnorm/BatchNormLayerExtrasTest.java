package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import org.junit.jupiter.api.Test;

/** What torch.nn.BatchNorm2d users also expect: resets, the eval map, empty batches, folding a layer. */
class BatchNormLayerExtrasTest {

    private static final int[] DIMS = {4, 3, 5, 5};

    private static BatchNorm trained() {
        BatchNorm bn = new BatchNorm(3);
        bn.setWeight(new float[] {2f, -0.5f, 1.5f});
        bn.setBias(new float[] {0.1f, 0.2f, -0.3f});
        bn.forward(DIMS, Distribution.NORMAL.tensor(NcsShape.of(DIMS), 1));
        bn.forward(DIMS, Distribution.NORMAL.tensor(NcsShape.of(DIMS), 2));
        return bn;
    }

    @Test
    void resetsRestoreTorchsInitialState() {
        BatchNorm bn = trained();
        assertEquals(2, bn.numBatchesTracked());
        bn.resetRunningStats();
        assertArrayEquals(new float[] {0, 0, 0}, bn.runningMean());
        assertArrayEquals(new float[] {1, 1, 1}, bn.runningVar());
        assertEquals(0, bn.numBatchesTracked());
        assertArrayEquals(new float[] {2f, -0.5f, 1.5f}, bn.weight(), "running stats only");
        bn.resetParameters();
        assertArrayEquals(new float[] {1, 1, 1}, bn.weight());
        assertArrayEquals(new float[] {0, 0, 0}, bn.bias());
    }

    @Test
    void inferenceAffineIsWhatEvalForwardComputes() {
        BatchNorm bn = trained().eval();
        float[] x = Distribution.UNIFORM.tensor(NcsShape.of(DIMS), 3);
        float[] y = bn.forward(DIMS, x);
        ChannelAffine map = bn.inferenceAffine();
        for (int k = 0; k < x.length; k++) {
            int ch = (k / 25) % 3;
            double expected = (double) x[k] * map.scale()[ch] + map.shift()[ch];
            assertEquals(expected, y[k], 1e-5 * (1 + Math.abs(expected)), "y[" + k + "]");
        }
        BatchNorm untracked = new BatchNorm(3, 1e-5, 0.1, true, false);
        assertThrows(IllegalStateException.class, untracked::inferenceAffine);
    }

    @Test
    void anEmptyBatchGivesAnEmptyResultAndLeavesTheStatisticsAlone() {
        BatchNorm bn = trained();
        float[] mean = bn.runningMean();
        assertEquals(0, bn.forward(new int[] {0, 3, 5, 5}, new float[0]).length);
        assertArrayEquals(mean, bn.runningMean());
        assertEquals(2, bn.numBatchesTracked());
        BatchNorm.Gradients g = bn.backward(new float[0]);
        assertEquals(0, g.dx().length);
        assertArrayEquals(new float[3], g.dWeight());
        assertThrows(IllegalArgumentException.class, () -> bn.forward(new int[] {0, 4, 5, 5}, new float[0]));
    }

    @Test
    void foldingALayerRefusesTrainingModeAndMatchesItsEvalOutput() {
        BatchNorm bn = trained();
        float[] w = {1f, 2f, -1f, 0.5f, 3f, -2f};  // 3 output channels x 2 inputs (a linear layer)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchNormFolding.intoPreceding(w, 3, null, bn));
        assertTrue(e.getMessage().contains("training mode"), e.getMessage());
        bn.eval();
        BatchNormFolding.Folded f = BatchNormFolding.intoPreceding(w, 3, new float[] {0.5f, -1f, 2f}, bn);
        float[] in = {0.3f, -1.2f};
        float[] linear = new float[3];
        for (int o = 0; o < 3; o++) {
            linear[o] = w[2 * o] * in[0] + w[2 * o + 1] * in[1] + new float[] {0.5f, -1f, 2f}[o];
        }
        float[] want = bn.forward(new int[] {1, 3}, linear.clone());
        for (int o = 0; o < 3; o++) {
            double got = f.weight()[2 * o] * in[0] + f.weight()[2 * o + 1] * in[1] + f.bias()[o];
            assertEquals(want[o], got, 1e-5 * (1 + Math.abs(want[o])), "output " + o);
        }
    }
}
