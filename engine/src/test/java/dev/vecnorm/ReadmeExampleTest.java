package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import dev.vecnorm.testing.Float64Reference;
import org.junit.jupiter.api.Test;

/** The README's "Using it" example, as written there, runs and gives normalized output. */
class ReadmeExampleTest {

    @Test
    void readmeExampleRuns() {
        int[] shape = {32, 64, 56, 56};
        NcsShape sh = NcsShape.of(shape);
        float[] x = Distribution.NORMAL.tensor(sh, 1);
        float[] dy = Distribution.UNIFORM.tensor(sh, 2);
        float[] gamma = Distribution.uniform(64, 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(64, -1f, 1f, 4);
        float[] dx = new float[sh.size()];
        float[] dgamma = new float[64];
        float[] dbeta = new float[64];

        float[] original = x.clone();
        BatchNorm bn = new BatchNorm(64);
        float[] y = bn.forward(shape, x);
        BatchNorm.Gradients g = bn.backward(dy);
        bn.eval();
        float[] yEval = bn.forward(shape, x);

        BatchNormOps ops = BatchNormOps.get();
        float[] mean = new float[64], invStd = new float[64];
        float[] runMean = new float[64], runVar = new float[64];
        java.util.Arrays.fill(runVar, 1f);
        ops.forwardTraining(shape, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd,
                RunningStats.onnx(runMean, runVar, 0.9));
        ops.backward(shape, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        ops.forwardInference(shape, x, 0, x, 0, gamma, beta, runMean, runVar, 1e-5);

        assertEquals(sh.size(), g.dx().length);
        assertEquals(64, g.dWeight().length);
        assertEquals(1, bn.numBatchesTracked());
        // Every output against float64, so that a y = x (or a skipped call) fails.
        Float64Reference.Training want = Float64Reference.training(sh, original, gamma, beta, 1e-5);
        Tolerance.assertClose("functional y", want.y(), y);
        Tolerance.assertClose("dx", Float64Reference.backward(sh, dy, original, gamma, mean, invStd).dx(), dx);
        Tolerance.assertClose("in-place inference", Float64Reference.inference(sh, original, gamma, beta, runMean,
                runVar, 1e-5), x);
        Tolerance.assertClose("layer eval y", Float64Reference.inference(sh, original, null, null, bn.runningMean(),
                bn.runningVar(), 1e-5), yEval);
    }
}
