package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import org.junit.jupiter.api.Test;

/**
 * The BatchNorm, GroupNorm and InstanceNorm layers on channels-last tensors: the bits of the channels-last
 * functional ops (which are checked against float64 elsewhere), state that follows torch's rules, the layout kept
 * from forward to backward, and LayerNorm/RMSNorm refusing the layout.
 */
class ChannelsLastLayersTest {

    private static final int[] DIMS = {3, 6, 5, 4};
    private static final NcsShape SH = NcsShape.of(DIMS);
    private static final int SIZE = (int) SH.size();

    private final float[] x = Distribution.MIXTURE.tensor(SH, 31);
    private final float[] dy = Distribution.NORMAL.tensor(SH, 32);

    private static void setAffine(NormLayer layer) {
        assertEquals(2, layer.parameters().size());
        System.arraycopy(Distribution.uniform(6, 0.5f, 2f, 33), 0, layer.parameters().get(0).value(), 0, 6);
        System.arraycopy(Distribution.uniform(6, -1f, 1f, 34), 0, layer.parameters().get(1).value(), 0, 6);
    }

    private static float[] weightOf(NormLayer layer) {
        return layer.parameters().get(0).value();
    }

    private static float[] biasOf(NormLayer layer) {
        return layer.parameters().get(1).value();
    }

    /** Backward into arrays pre-filled with NaN, so an output left unwritten shows. */
    private static float[][] backward(NormLayer layer, float[] dy) {
        float[] dx = new float[SIZE];
        float[] dw = new float[6];
        float[] db = new float[6];
        java.util.Arrays.fill(dx, Float.NaN);
        java.util.Arrays.fill(dw, Float.NaN);
        java.util.Arrays.fill(db, Float.NaN);
        layer.backward(dy, 0, dx, 0, dw, db);
        return new float[][] {dx, dw, db};
    }

    @Test
    void batchNormTrainingAndEvalAreTheChannelsLastOps() {
        BatchNorm layer = new BatchNorm(6);
        setAffine(layer);
        float[] runningMean = new float[6];
        float[] runningVar = new float[6];
        java.util.Arrays.fill(runningVar, 1f);
        BatchNormOps ops = BatchNormOps.get();
        for (int step = 0; step < 2; step++) {
            float[] y = new float[SIZE];
            layer.forward(Layout.CHANNELS_LAST, DIMS, x, 0, y, 0);
            float[] want = new float[SIZE];
            float[] mean = new float[6];
            float[] invStd = new float[6];
            ops.forwardTraining(Layout.CHANNELS_LAST, DIMS, x, 0, want, 0, weightOf(layer), biasOf(layer), 1e-5, mean,
                    invStd, new RunningStats(runningMean, runningVar, RunningStatsConvention.PYTORCH, 0.1));
            assertArrayEquals(want, y, "training y, step " + step);
            assertArrayEquals(runningMean, layer.runningMean(), "running mean, step " + step);
            assertArrayEquals(runningVar, layer.runningVar(), "running var, step " + step);
            float[][] got = backward(layer, dy);
            float[] dx = new float[SIZE];
            float[] dw = new float[6];
            float[] db = new float[6];
            ops.backward(Layout.CHANNELS_LAST, DIMS, dy, 0, x, 0, weightOf(layer), mean, invStd, dx, 0, dw, db);
            assertArrayEquals(dx, got[0], "training dx");
            assertArrayEquals(dw, got[1], "training dWeight");
            assertArrayEquals(db, got[2], "training dBias");
        }
        layer.eval();
        float[] y = new float[SIZE];
        layer.forward(Layout.CHANNELS_LAST, DIMS, x, 0, y, 0);
        float[] want = new float[SIZE];
        ops.forwardInference(Layout.CHANNELS_LAST, DIMS, x, 0, want, 0, weightOf(layer), biasOf(layer), runningMean,
                runningVar, 1e-5);
        assertArrayEquals(want, y, "eval y");
        float[][] got = backward(layer, dy);
        float[] dx = new float[SIZE];
        float[] dw = new float[6];
        ops.backwardFrozen(Layout.CHANNELS_LAST, DIMS, dy, 0, x, 0, weightOf(layer), runningMean, runningVar, 1e-5,
                dx, 0, dw, null);
        assertArrayEquals(dx, got[0], "eval dx");
        assertArrayEquals(dw, got[1], "eval dWeight");
    }

    @Test
    void groupNormIsTheChannelsLastOp() {
        GroupNorm layer = new GroupNorm(3, 6);
        setAffine(layer);
        float[] y = new float[SIZE];
        layer.forward(Layout.CHANNELS_LAST, DIMS, x, 0, y, 0);
        GroupNormOps ops = GroupNormOps.get();
        float[] want = new float[SIZE];
        float[] mean = new float[9];
        float[] invStd = new float[9];
        ops.forward(Layout.CHANNELS_LAST, DIMS, 3, x, 0, want, 0, weightOf(layer), biasOf(layer), 1e-5, mean,
                invStd);
        assertArrayEquals(want, y);
        float[][] got = backward(layer, dy);
        float[] dx = new float[SIZE];
        float[] dw = new float[6];
        float[] db = new float[6];
        ops.backward(Layout.CHANNELS_LAST, DIMS, 3, dy, 0, x, 0, weightOf(layer), mean, invStd, dx, 0, dw, db);
        assertArrayEquals(dx, got[0]);
        assertArrayEquals(dw, got[1]);
        assertArrayEquals(db, got[2]);
    }

    @Test
    void instanceNormTracksRunningStatisticsByTorchsRuleOnChannelsLastInput() {
        InstanceNorm layer = new InstanceNorm(6, 1e-5, 0.1, true, true);
        setAffine(layer);
        float[] xLast = ChannelsLastTest.toChannelsLast(SH, x);
        float[] y = new float[SIZE];
        layer.forward(Layout.CHANNELS_LAST, DIMS, xLast, 0, y, 0);
        float[] want = new float[SIZE];
        float[] mean = new float[18];
        float[] invStd = new float[18];
        GroupNormOps.get().forward(Layout.CHANNELS_LAST, DIMS, 6, xLast, 0, want, 0, weightOf(layer), biasOf(layer),
                1e-5, mean, invStd);
        assertArrayEquals(want, y);
        // torch: running = 0.9 running + 0.1 * batch average of instance mean / unbiased variance (float64 here,
        // from the channels-first copy of x).
        double[] wantMean = new double[6];
        double[] wantVar = new double[6];
        for (int ch = 0; ch < 6; ch++) {
            double meanSum = 0;
            double varSum = 0;
            for (int i = 0; i < 3; i++) {
                double m = 0;
                for (int j = 0; j < 20; j++) {
                    m += x[(i * 6 + ch) * 20 + j];
                }
                m /= 20;
                double v = 0;
                for (int j = 0; j < 20; j++) {
                    double d = x[(i * 6 + ch) * 20 + j] - m;
                    v += d * d;
                }
                meanSum += m;
                varSum += v / 19;
            }
            wantMean[ch] = 0.1 * meanSum / 3;
            wantVar[ch] = 0.9 + 0.1 * varSum / 3;
        }
        Tolerance.assertClose("running mean", wantMean, layer.runningMean());
        Tolerance.assertClose("running var", wantVar, layer.runningVar());
        float[][] got = backward(layer, dy);
        float[] dx = new float[SIZE];
        float[] dw = new float[6];
        GroupNormOps.get().backward(Layout.CHANNELS_LAST, DIMS, 6, dy, 0, xLast, 0, weightOf(layer), mean, invStd,
                dx, 0, dw, null);
        assertArrayEquals(dx, got[0]);
        assertArrayEquals(dw, got[1]);

        layer.eval();
        layer.forward(Layout.CHANNELS_LAST, DIMS, xLast, 0, y, 0);
        BatchNormOps.get().forwardInference(Layout.CHANNELS_LAST, DIMS, xLast, 0, want, 0, weightOf(layer),
                biasOf(layer), layer.runningMean(), layer.runningVar(), 1e-5);
        assertArrayEquals(want, y, "eval uses the running statistics per channel");
        got = backward(layer, dy);
        BatchNormOps.get().backwardFrozen(Layout.CHANNELS_LAST, DIMS, dy, 0, xLast, 0, weightOf(layer),
                layer.runningMean(), layer.runningVar(), 1e-5, dx, 0, dw, null);
        assertArrayEquals(dx, got[0], "eval dx");
        assertArrayEquals(dw, got[1], "eval dWeight");
    }

    @Test
    void tensorFormsKeepTheLayoutFromForwardToBackward() {
        for (NormLayer layer : new NormLayer[] {new BatchNorm(6), new GroupNorm(2, 6), new InstanceNorm(6,
            1e-5, 0.1, true, false)}) {
            setAffine(layer);
            Tensor xt = Tensor.of(x, DIMS).in(Layout.CHANNELS_LAST);
            Tensor y = layer.forward(xt);
            assertEquals(Layout.CHANNELS_LAST, y.layout(), layer + " y layout");
            float[] raw = new float[SIZE];
            layer.forward(Layout.CHANNELS_LAST, DIMS, x, 0, raw, 0);
            assertArrayEquals(raw, y.toArray(), layer + " y");
            float[][] want = backward(layer, dy);
            NormGradients g = layer.backward(Tensor.of(dy, DIMS).in(Layout.CHANNELS_LAST));
            assertEquals(Layout.CHANNELS_LAST, g.dx().layout(), layer + " dx layout");
            assertArrayEquals(want[0], g.dx().toArray(), layer + " dx");
            assertArrayEquals(want[1], g.dWeight(), layer + " dWeight");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> layer.backward(Tensor.of(dy, DIMS)));
            assertTrue(e.getMessage().contains("CHANNELS_LAST"), e.getMessage());
            // A channels-first forward after it is channels-first again.
            layer.forward(Tensor.of(x, DIMS));
            assertThrows(IllegalArgumentException.class,
                    () -> layer.backward(Tensor.of(dy, DIMS).in(Layout.CHANNELS_LAST)));
        }
    }

    @Test
    void rowNormalizationsRefuseChannelsLastAndANullLayout() {
        for (NormLayer layer : new NormLayer[] {new LayerNorm(5, 4), new RMSNorm(5, 4)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> layer.forward(Tensor.of(x, DIMS).in(Layout.CHANNELS_LAST)));
            assertTrue(e.getMessage().contains("no channels-last layout"), e.getMessage());
        }
        float[] y = new float[SIZE];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GroupNorm(2, 6).forward(null, DIMS, x, 0, y, 0));
        assertTrue(e.getMessage().contains("layout must not be null"), e.getMessage());
        assertTrue(java.util.Arrays.equals(new float[SIZE], y), "nothing written");
    }
}
