package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import dev.vecnorm.testing.Tolerance;
import org.junit.jupiter.api.Test;

/** The stateful layer behaves like torch.nn.BatchNorm2d in its modes and bookkeeping. */
class BatchNormLayerTest {

    private static final int[] DIMS = {4, 3, 5, 5};
    private static final NcsShape SHAPE = NcsShape.of(DIMS);

    @Test
    void cumulativeAverageWhenMomentumIsNull() {
        BatchNorm bn = new BatchNorm(3, 1e-5, null, true, true);
        double[] sumMean = new double[3];
        double[] sumVar = new double[3];
        for (int step = 1; step <= 4; step++) {
            float[] x = Distribution.NORMAL.tensor(SHAPE, step);
            bn.forward(DIMS, x);
            double[] m = Float64Reference.mean(SHAPE, x);
            double[] v = Float64Reference.variance(SHAPE, x, m);
            double[] expectMean = new double[3];
            double[] expectVar = new double[3];
            for (int ch = 0; ch < 3; ch++) {
                sumMean[ch] += m[ch];
                sumVar[ch] += v[ch] * SHAPE.perChannel() / (SHAPE.perChannel() - 1);
                expectMean[ch] = sumMean[ch] / step;
                expectVar[ch] = sumVar[ch] / step;
            }
            assertEquals(step, bn.numBatchesTracked());
            Tolerance.assertClose("cumulative mean", expectMean, bn.runningMean());
            Tolerance.assertClose("cumulative var", expectVar, bn.runningVar());
        }
    }

    @Test
    void evalUsesRunningStatisticsAndBackwardIsFrozen() {
        BatchNorm bn = new BatchNorm(3);
        float[] gamma = {0.5f, 1.5f, -2f};
        float[] beta = {0.1f, 0.2f, 0.3f};
        bn.setWeight(gamma);
        bn.setBias(beta);
        float[] runMean = {0.25f, -0.5f, 1f};
        float[] runVar = {2f, 0.5f, 1f};
        bn.setRunningMean(runMean);
        bn.setRunningVar(runVar);
        float[] x = Distribution.NORMAL.tensor(SHAPE, 9);
        float[] y = bn.eval().forward(DIMS, x);
        Tolerance.assertClose("eval y", Float64Reference.inference(SHAPE, x, gamma, beta, runMean, runVar, 1e-5), y);
        assertEquals(0, bn.numBatchesTracked(), "eval does not count batches");
        assertArrayEquals(runMean, bn.runningMean(), "eval does not move running stats");

        float[] dy = Distribution.UNIFORM.tensor(SHAPE, 10);
        BatchNorm.Gradients g = bn.backward(dy);
        Float64Reference.Gradients ref = Float64Reference.backwardFrozen(SHAPE, dy, x, gamma, runMean, runVar, 1e-5);
        Tolerance.assertClose("frozen dx", ref.dx(), g.dx());
        Tolerance.assertClose("frozen dgamma", ref.dgamma(), g.dWeight());
        Tolerance.assertClose("frozen dbeta", ref.dbeta(), g.dBias());
    }

    @Test
    void trainingBackwardUsesTheSavedBatchStatistics() {
        BatchNorm bn = new BatchNorm(3);
        float[] x = Distribution.NORMAL.tensor(SHAPE, 3);
        float[] dy = Distribution.NORMAL.tensor(SHAPE, 4);
        float[] y = bn.train().forward(DIMS, x);
        Float64Reference.Training t = Float64Reference.training(SHAPE, x, null, null, 1e-5);
        Tolerance.assertClose("y", t.y(), y);
        float[] mean = new float[3];
        float[] invStd = new float[3];
        for (int ch = 0; ch < 3; ch++) {
            mean[ch] = (float) t.mean()[ch];
            invStd[ch] = (float) t.invStd()[ch];
        }
        BatchNorm.Gradients g = bn.backward(dy);
        Float64Reference.Gradients ref = Float64Reference.backward(SHAPE, dy, x, null, mean, invStd);
        Tolerance.assertClose("dx", ref.dx(), g.dx());
        Tolerance.assertClose("dgamma", ref.dgamma(), g.dWeight());
        Tolerance.assertClose("dbeta", ref.dbeta(), g.dBias());
    }

    @Test
    void withoutTrackingEvalStillUsesBatchStatistics() {
        BatchNorm bn = new BatchNorm(3, 1e-5, 0.1, false, false).eval();
        assertNull(bn.runningMean());
        assertNull(bn.weight());
        float[] x = Distribution.UNIFORM.tensor(SHAPE, 5);
        float[] y = bn.forward(DIMS, x);
        Tolerance.assertClose("batch-stat y", Float64Reference.training(SHAPE, x, null, null, 1e-5).y(), y);
        BatchNorm.Gradients g = bn.backward(new float[SHAPE.size()]);
        assertNull(g.dWeight());
        assertNull(g.dBias());
        assertEquals(0, bn.numBatchesTracked());
    }

    @Test
    void evalMayNormalizeInPlace() {
        BatchNorm bn = new BatchNorm(3).eval();
        float[] x = Distribution.NORMAL.tensor(SHAPE, 6);
        float[] expected = bn.forward(DIMS, x);
        bn.forward(DIMS, x, 0, x, 0);
        assertArrayEquals(expected, x);
    }
}
