package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The worked examples of the seed documents, reproduced through the public API. */
class SeedExamplesTest {

    /** Seed 000: {@code nn.BatchNorm1d(3)(x)} on a 3x3 input (rows are samples, columns are channels). */
    @Test
    void pytorchBatchNorm1dWorkedExample() {
        float[] x = {
            -0.6577f, -0.5797f, 0.6360f,
            0.7392f, 0.2145f, 1.523f,
            0.2432f, 0.5662f, 0.322f,
        };
        float[] expected = {
            -1.3246f, -1.3492f, -0.3756f,
            1.0912f, 0.3077f, 1.3685f,
            0.2334f, 1.0415f, -0.9930f,
        };
        BatchNorm bn = new BatchNorm(3);
        float[] y = bn.forward(new int[] {3, 3}, x);
        assertArrayEquals(expected, y, 0.5e-4f, () -> "y = " + Arrays.toString(y));

        // PyTorch convention after one step: running = 0.9 * init + 0.1 * batch, with the unbiased variance.
        // The expected values were computed by hand from the input: mean_c and sum((x - mean_c)^2) / 2.
        assertArrayEquals(new float[] {0.0108233f, 0.0067000f, 0.0827000f}, bn.runningMean(), 1e-6f);
        assertArrayEquals(new float[] {0.9501494f, 0.9344589f, 0.9387961f}, bn.runningVar(), 1e-6f);
        assertEquals(1, bn.numBatchesTracked());
    }

    /**
     * Seed 003 (d2l): {@code moving = momentum * moving + (1 - momentum) * batch} with momentum 0.9 and the biased
     * variance {@code ((X - mean)^2).mean()}, starting from moving mean 0 and moving var 1. That is vecnorm's ONNX
     * convention; the d2l loop is written out here, line by line, as the oracle.
     */
    @Test
    void d2lMovingAveragesAreTheOnnxConvention() {
        int[] dims = {4, 2, 3, 3};
        NcsShape sh = NcsShape.of(dims);
        float[] movingMean = {0f, 0f};
        float[] movingVar = {1f, 1f};
        double[] d2lMean = {0, 0};
        double[] d2lVar = {1, 1};
        for (int step = 0; step < 3; step++) {
            float[] x = Distribution.NORMAL.tensor(sh, 100 + step);
            BatchNormOps.get().forwardTraining(dims, x, 0, new float[sh.size()], 0, null, null, 1e-5, null, null,
                    RunningStats.onnx(movingMean, movingVar, 0.9));
            for (int ch = 0; ch < 2; ch++) {
                double mean = 0;
                for (int i = 0; i < sh.n(); i++) {
                    for (int j = 0; j < sh.s(); j++) {
                        mean += x[(i * 2 + ch) * 9 + j];
                    }
                }
                mean /= sh.perChannel();
                double var = 0;
                for (int i = 0; i < sh.n(); i++) {
                    for (int j = 0; j < sh.s(); j++) {
                        double d = x[(i * 2 + ch) * 9 + j] - mean;
                        var += d * d;
                    }
                }
                var /= sh.perChannel();
                d2lMean[ch] = 0.9 * d2lMean[ch] + (1.0 - 0.9) * mean;
                d2lVar[ch] = 0.9 * d2lVar[ch] + (1.0 - 0.9) * var;
            }
            Tolerance.assertClose("moving mean after step " + step, d2lMean, movingMean);
            Tolerance.assertClose("moving var after step " + step, d2lVar, movingVar);
        }
    }

    @Test
    void defaultMomentaAreTheFrameworks() {
        assertEquals(0.1, RunningStatsConvention.PYTORCH.defaultMomentum());
        assertEquals(0.9, RunningStatsConvention.ONNX.defaultMomentum());
    }
}
