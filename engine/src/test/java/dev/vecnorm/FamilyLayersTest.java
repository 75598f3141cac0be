package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The family's layers (LayerNorm, RMSNorm, GroupNorm, InstanceNorm) give bitwise what their functional
 * operations give, keep torch's defaults and rules (RMSNorm's eps, InstanceNorm's running statistics), and
 * share BatchNorm's parameter, accumulation and in-place behaviour.
 */
class FamilyLayersTest {

    private static final int[] DIMS = {3, 4, 5, 6};
    private static final int SIZE = 360;

    private static float[] data(long seed) {
        return Distribution.NORMAL.tensor(NcsShape.of(DIMS), seed);
    }

    private static void randomize(NormLayer layer, long seed) {
        for (Parameter p : layer.parameters()) {
            float[] v = Distribution.NORMAL.tensor(NcsShape.of(1, p.value().length), seed++);
            System.arraycopy(v, 0, p.value(), 0, v.length);
        }
    }

    /** Per channel of a DIMS tensor: the batch average of instance means and of unbiased instance variances. */
    private static double[][] instanceAverages(float[] x) {
        double[][] out = new double[2][4];
        for (int c = 0; c < 4; c++) {
            for (int n = 0; n < 3; n++) {
                double sum = 0;
                for (int s = 0; s < 30; s++) {
                    sum += x[(n * 4 + c) * 30 + s];
                }
                double mean = sum / 30;
                double squares = 0;
                for (int s = 0; s < 30; s++) {
                    double d = x[(n * 4 + c) * 30 + s] - mean;
                    squares += d * d;
                }
                out[0][c] += mean / 3;
                out[1][c] += squares / 29 / 3;
            }
        }
        return out;
    }

    private static void expectRejected(String word, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(word), "message should name " + word + ": " + e.getMessage());
    }

    @Test
    void layerNormIsItsFunctionalOperation() {
        LayerNorm ln = new LayerNorm(5, 6);
        randomize(ln, 1);
        float[] x = data(2);
        float[] dy = data(3);
        float[] y = ln.forward(Tensor.of(x, DIMS)).toArray();
        NormGradients g = ln.backward(Tensor.of(dy, DIMS));

        float[] w = ln.parameters().get(0).value();
        float[] b = ln.parameters().get(1).value();
        Normalized f = LayerNormOps.get().forward(Tensor.of(x, DIMS), 2, new Affine(w, b), 1e-5);
        NormGradients fg = LayerNormOps.get().backward(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), 2, w, f.saved());
        assertArrayEquals(f.y().toArray(), y);
        assertArrayEquals(fg.dx().toArray(), g.dx().toArray());
        assertArrayEquals(fg.dWeight(), g.dWeight());
        assertArrayEquals(fg.dBias(), g.dBias());
        assertEquals(30, g.dWeight().length);

        // A shape whose trailing dims are not the normalized shape.
        expectRejected("(*, [5, 6])", () -> ln.forward(new int[] {3, 4, 6, 5}, x, 0, new float[SIZE], 0));
        expectRejected("(*, [5, 6])", () -> ln.forward(new int[] {6}, x, 0, new float[SIZE], 0));
        LayerNorm noBias = new LayerNorm(new int[] {6}, 1e-5, true, false);
        assertEquals(List.of("weight"), noBias.parameters().stream().map(Parameter::name).toList());
        noBias.forward(Tensor.of(x, DIMS));
        assertNull(noBias.backward(Tensor.of(dy, DIMS)).dBias());
        assertTrue(new LayerNorm(new int[] {6}, 1e-5, false, true).parameters().isEmpty());
        expectRejected("eps", () -> new LayerNorm(new int[] {6}, -1, true, true));
        expectRejected("normalizedShape", () -> new LayerNorm());
    }

    @Test
    void rmsNormDefaultsToFloatEpsilonAndIsItsFunctionalOperation() {
        RMSNorm rms = new RMSNorm(6);
        assertEquals(0x1p-23, rms.eps(), 0.0);
        randomize(rms, 4);
        float[] x = data(5);
        float[] dy = data(6);
        float[] y = rms.forward(Tensor.of(x, DIMS)).toArray();
        float[] w = rms.parameters().get(0).value();
        Normalized f = RMSNormOps.get().forward(Tensor.of(x, DIMS), -1, w, 0x1p-23);
        assertArrayEquals(f.y().toArray(), y);
        // The definition in double for the first row: x / sqrt(mean(x^2) + eps) * w.
        double squares = 0;
        for (int j = 0; j < 6; j++) {
            squares += (double) x[j] * x[j];
        }
        double inv = 1 / Math.sqrt(squares / 6 + 0x1p-23);
        for (int j = 0; j < 6; j++) {
            assertEquals(x[j] * inv * w[j], y[j], 1e-5 * (1 + Math.abs(x[j] * inv * w[j])), "y[" + j + "]");
        }
        NormGradients g = rms.backward(Tensor.of(dy, DIMS));
        NormGradients fg = RMSNormOps.get().backward(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), -1, w, f.saved());
        assertArrayEquals(fg.dx().toArray(), g.dx().toArray());
        assertArrayEquals(fg.dWeight(), g.dWeight());
        assertNull(g.dBias());
        assertEquals(0.5, new RMSNorm(new int[] {6}, 0.5, false).eps(), 0.0);
    }

    @Test
    void groupNormIsItsFunctionalOperationAndChecksItsGroups() {
        GroupNorm gn = new GroupNorm(2, 4);
        randomize(gn, 7);
        float[] x = data(8);
        float[] dy = data(9);
        float[] y = gn.forward(Tensor.of(x, DIMS)).toArray();
        NormGradients g = gn.backward(Tensor.of(dy, DIMS));
        float[] w = gn.parameters().get(0).value();
        float[] b = gn.parameters().get(1).value();
        Normalized f = GroupNormOps.get().forward(Tensor.of(x, DIMS), 2, new Affine(w, b), 1e-5);
        NormGradients fg = GroupNormOps.get().backward(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), 2, w, f.saved());
        assertArrayEquals(f.y().toArray(), y);
        assertArrayEquals(fg.dx().toArray(), g.dx().toArray());
        assertArrayEquals(fg.dWeight(), g.dWeight());
        assertArrayEquals(fg.dBias(), g.dBias());
        expectRejected("numGroups must divide numChannels = 4, got 3", () -> new GroupNorm(3, 4));
        expectRejected("numChannels", () -> new GroupNorm(1, 0));
        expectRejected("numChannels", () -> new GroupNorm(1, 0, 1e-5, false));
        expectRejected("numChannels", () -> new GroupNorm(2, -4, 1e-5, false));
        expectRejected("expected 4 channels", () -> gn.forward(new int[] {3, 5, 4, 6}, x, 0, new float[SIZE], 0));
    }

    @Test
    void instanceNormIsGroupNormPerChannelAndKeepsTorchsRunningStatistics() {
        InstanceNorm in = new InstanceNorm(4, 1e-5, 0.1, true, true);
        randomize(in, 10);
        float[] x = data(11);
        for (int i = 0; i < SIZE; i++) {
            x[i] = x[i] * 3 + (i / 30 % 4) * 2;   // channel offsets, so the running mean moves visibly
        }
        float[] dy = data(12);
        float[] w = in.parameters().get(0).value();
        float[] b = in.parameters().get(1).value();
        float[] y = in.forward(Tensor.of(x, DIMS)).toArray();
        Normalized f = GroupNormOps.get().forward(Tensor.of(x, DIMS), 4, new Affine(w, b), 1e-5);
        assertArrayEquals(f.y().toArray(), y);
        NormGradients g = in.backward(Tensor.of(dy, DIMS));
        NormGradients fg = GroupNormOps.get().backward(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), 4, w, f.saved());
        assertArrayEquals(fg.dx().toArray(), g.dx().toArray());
        assertArrayEquals(fg.dWeight(), g.dWeight());

        // torch: running = 0.9 * running + 0.1 * (average over the batch of instance mean / unbiased variance),
        // checked over two steps so that both terms of the rule matter.
        double[][] first = instanceAverages(x);
        float[] mean1 = in.runningMean();
        float[] var1 = in.runningVar();
        for (int c = 0; c < 4; c++) {
            assertEquals(0.1 * first[0][c], mean1[c], 1e-6, "running mean " + c);
            assertEquals(0.9 + 0.1 * first[1][c], var1[c], 1e-6, "running var " + c);
        }
        float[] x2 = data(21);
        for (int i = 0; i < SIZE; i++) {
            x2[i] = x2[i] * 0.5f - (i / 30 % 4);
        }
        in.forward(Tensor.of(x2, DIMS));
        double[][] second = instanceAverages(x2);
        for (int c = 0; c < 4; c++) {
            assertEquals(0.9 * mean1[c] + 0.1 * second[0][c], in.runningMean()[c], 1e-6, "second mean " + c);
            assertEquals(0.9 * var1[c] + 0.1 * second[1][c], in.runningVar()[c], 1e-6, "second var " + c);
        }
        in.forward(Tensor.of(x, DIMS));
        in.backward(Tensor.of(dy, DIMS));

        // Eval with tracking: BatchNorm inference with the running statistics, and its frozen backward.
        in.eval();
        float[] yEval = in.forward(Tensor.of(x, DIMS)).toArray();
        MeanVariance running = new MeanVariance(in.runningMean(), in.runningVar());
        assertArrayEquals(BatchNormOps.get().forwardInference(Tensor.of(x, DIMS), new Affine(w, b), running, 1e-5)
                .toArray(), yEval);
        NormGradients frozen = BatchNormOps.get().backwardFrozen(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), w,
                running, 1e-5);
        NormGradients evalGradients = in.backward(Tensor.of(dy, DIMS));
        assertArrayEquals(frozen.dx().toArray(), evalGradients.dx().toArray());
        assertArrayEquals(frozen.dWeight(), evalGradients.dWeight(), "dweight uses the frozen mean");
        assertArrayEquals(frozen.dBias(), evalGradients.dBias());
    }

    @Test
    void instanceNormDefaultsAndRefusals() {
        InstanceNorm in = new InstanceNorm(4);
        assertTrue(in.parameters().isEmpty());
        assertNull(in.runningMean());
        float[] x = data(13);
        float[] training = in.forward(Tensor.of(x, DIMS)).toArray();
        in.eval();
        assertArrayEquals(training, in.forward(Tensor.of(x, DIMS)).toArray(), "untracked eval = instance stats");
        in.train();
        expectRejected("more than 1 spatial element", () -> in.forward(new int[] {3, 4, 1, 1}, x, 0,
                new float[12], 0));
        expectRejected("(N, 4, spatial...)", () -> in.forward(new int[] {90, 4}, x, 0, new float[SIZE], 0));
        expectRejected("momentum", () -> new InstanceNorm(4, 1e-5, 1.5, false, true));
        InstanceNorm tracked = new InstanceNorm(4, 1e-5, 0.1, false, true);
        float[] copy = x.clone();
        expectRejected("overlaps", () -> tracked.forward(DIMS, copy, 0, copy, 0));
        assertArrayEquals(new float[4], tracked.runningMean(), "nothing moved");
    }

    @Test
    void everyLayerAccumulatesGradientsAndRefusesBackwardAfterForwardInPlace() {
        List<NormLayer> layers = List.of(new LayerNorm(6), new RMSNorm(5, 6), new GroupNorm(4, 4),
                new InstanceNorm(4, 1e-5, 0.1, true, false));
        float[] x = data(14);
        float[] dy = data(15);
        for (NormLayer layer : layers) {
            randomize(layer, 16);
            assertThrows(IllegalStateException.class, () -> layer.backwardAccumulate(dy, 0, new float[SIZE], 0),
                    layer.name() + ": backward before forward");
            layer.forward(DIMS, x, 0, new float[SIZE], 0);
            NormGradients once = layer.backward(Tensor.of(dy, DIMS));
            float[] dx = new float[SIZE];
            layer.backwardAccumulate(dy, 0, dx, 0);
            layer.backwardAccumulate(dy, 0, dx, 0);
            assertArrayEquals(once.dx().toArray(), dx, layer.name());
            for (int i = 0; i < once.dWeight().length; i++) {
                assertEquals(2 * once.dWeight()[i], layer.parameters().get(0).grad()[i], 0f, layer.name());
            }
            expectRejected("dx", () -> layer.backwardAccumulate(dy, 0, new float[SIZE - 1], 0));
            assertEquals(2 * once.dWeight()[0], layer.parameters().get(0).grad()[0], 0f, "unchanged by the refusal");
            layer.zeroGrad();
            assertEquals(0f, layer.parameters().get(0).grad()[0], 0f);
            expectRejected("dy", () -> layer.backward(Tensor.of(dy, 3, 4, 30)));

            float[] inPlace = x.clone();
            layer.forward(DIMS, inPlace, 0, inPlace, 0);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> layer.backward(Tensor.of(dy, DIMS)));
            assertTrue(e.getMessage().contains("in place"), layer.name() + ": " + e.getMessage());
        }
    }

    @Test
    void layersRejectChannelsLastTensorsAndKeepTheirSettings() {
        Tensor nhwc = Tensor.of(data(17), DIMS).in(Layout.CHANNELS_LAST);
        List<NormLayer> layers = List.of(new LayerNorm(6), new RMSNorm(6), new GroupNorm(2, 4), new InstanceNorm(4),
                new BatchNorm(4));
        List<String> names = List.of("LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm", "BatchNorm");
        for (int i = 0; i < layers.size(); i++) {
            NormLayer layer = layers.get(i);
            expectRejected(names.get(i) + " takes channels-first", () -> layer.forward(nhwc));
            assertThrows(IllegalStateException.class, () -> layer.backward(Tensor.of(data(18), DIMS)),
                    layer.name() + ": a Tensor backward before any forward");
            assertEquals(names.get(i), layer.toString());
            layer.forward(Tensor.of(data(22), DIMS));
            assertEquals(names.get(i) + ", last input [3, 4, 5, 6]", layer.toString());
        }
        LayerNorm ln = new LayerNorm(new int[] {5, 6}, 1e-3, true, true);
        assertArrayEquals(new int[] {5, 6}, ln.normalizedShape());
        assertEquals(1e-3, ln.eps(), 0.0);
        GroupNorm gn = new GroupNorm(2, 4, 1e-4, false);
        assertEquals(2, gn.numGroups());
        assertEquals(4, gn.numChannels());
        assertEquals(1e-4, gn.eps(), 0.0);
        assertTrue(gn.parameters().isEmpty());
        assertArrayEquals(new int[] {6}, new RMSNorm(6).normalizedShape());
        InstanceNorm in = new InstanceNorm(4);
        assertEquals(4, in.numFeatures());
        assertTrue(in.isTraining());
        assertSame(in, in.eval());
        assertTrue(!in.isTraining());
        assertSame(in, in.train());
        assertTrue(in.isTraining());
    }

    @Test
    void edgeShapesAndSettingsAreAcceptedOrRejectedAtTheirBoundaries() {
        float[] x = data(19);
        // LayerNorm over the whole input (no leading dims); GroupNorm with one group, one channel.
        LayerNorm whole = new LayerNorm(5, 6);
        whole.forward(new int[] {5, 6}, x, 0, new float[30], 0);
        new GroupNorm(1, 4).forward(DIMS, x, 0, new float[SIZE], 0);
        new GroupNorm(1, 1);
        new InstanceNorm(1);
        // InstanceNorm1d: (N, C, L).
        new InstanceNorm(4).forward(new int[] {3, 4, 30}, x, 0, new float[SIZE], 0);
        // Momentum at both ends of [0, 1].
        new InstanceNorm(4, 1e-5, 0.0, false, true);
        new InstanceNorm(4, 1e-5, 1.0, false, true);
        expectRejected("numFeatures", () -> new InstanceNorm(0));
        expectRejected("eps", () -> new InstanceNorm(4, -1e-5, 0.1, false, false));
        expectRejected("eps", () -> new GroupNorm(2, 4, Double.NaN, true));
        expectRejected("eps", () -> new RMSNorm(new int[] {6}, -1.0, true));
        expectRejected("normalizedShape must have at least one dimension, got null",
                () -> new LayerNorm((int[]) null, 1e-5, true, true));
        // Adjacent, not overlapping: y right after x in the same array is allowed, and backward works.
        float[] both = new float[2 * SIZE];
        System.arraycopy(x, 0, both, 0, SIZE);
        LayerNorm ln = new LayerNorm(6);
        ln.forward(DIMS, both, 0, both, SIZE);
        ln.backward(Tensor.of(data(20), DIMS));
        System.arraycopy(x, 0, both, SIZE, SIZE);
        ln.forward(DIMS, both, SIZE, both, 0);
        ln.backward(Tensor.of(data(20), DIMS));
        InstanceNorm tracked = new InstanceNorm(4, 1e-5, 0.1, false, true);
        tracked.forward(DIMS, both, 0, both, SIZE);
        expectRejected("overlaps", () -> tracked.forward(DIMS, both, 1, both, SIZE));
    }
}
