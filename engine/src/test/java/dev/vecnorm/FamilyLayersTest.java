package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
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

    private static float[] nans(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    /** {@code values} at {@code offset} of a longer array, NaN around them: a misplaced read shows as NaN. */
    private static float[] padded(float[] values, int offset) {
        float[] a = nans(offset + values.length + 5);
        System.arraycopy(values, 0, a, offset, values.length);
        return a;
    }

    /** One of each layer, affine, the tracking ones tracking: new layers with the same parameters each call. */
    private static List<Supplier<NormLayer>> everyLayer() {
        List<Supplier<NormLayer>> makers = List.of(() -> new LayerNorm(5, 6), () -> new RMSNorm(6),
                () -> new GroupNorm(2, 4), () -> new InstanceNorm(4, 1e-5, 0.1, true, true), () -> new BatchNorm(4));
        List<Supplier<NormLayer>> out = new ArrayList<>();
        for (Supplier<NormLayer> make : makers) {
            out.add(() -> {
                NormLayer layer = make.get();
                randomize(layer, 40);
                return layer;
            });
        }
        return out;
    }

    private static void assertSameGradients(NormGradients expected, NormGradients actual, String where) {
        assertArrayEquals(expected.dx().toArray(), actual.dx().toArray(), where + ": dx");
        assertArrayEquals(expected.dWeight(), actual.dWeight(), where + ": dWeight");
        assertArrayEquals(expected.dBias(), actual.dBias(), where + ": dBias");
    }

    /** The running statistics of the layers that keep them, else null. */
    private static float[][] running(NormLayer layer) {
        if (layer instanceof InstanceNorm in) {
            return new float[][] {in.runningMean(), in.runningVar()};
        }
        if (layer instanceof BatchNorm bn) {
            return new float[][] {bn.runningMean(), bn.runningVar()};
        }
        return null;
    }

    private static void eval(NormLayer layer) {
        if (layer instanceof InstanceNorm in) {
            in.eval();
        } else if (layer instanceof BatchNorm bn) {
            bn.eval();
        }
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
    void theNormalizedShapeIsCopiedInAndOut() {
        float[] x = data(25);
        int[] shape = {5, 6};
        LayerNorm ln = new LayerNorm(shape);
        int[] shape4 = {5, 6};
        LayerNorm ln4 = new LayerNorm(shape4, 1e-5, true, true);
        int[] rmsShape = {5, 6};
        RMSNorm rms = new RMSNorm(rmsShape, null, true);
        for (int[] s : new int[][] {shape, shape4, rmsShape}) {
            s[0] = 6;
            s[1] = 5;
        }
        assertArrayEquals(new int[] {5, 6}, ln.normalizedShape());
        assertArrayEquals(new int[] {5, 6}, ln4.normalizedShape());
        assertArrayEquals(new int[] {5, 6}, rms.normalizedShape());
        ln.normalizedShape()[0] = 9;
        rms.normalizedShape()[0] = 9;
        assertArrayEquals(new int[] {5, 6}, ln.normalizedShape(), "normalizedShape() returns a copy");
        assertArrayEquals(new int[] {5, 6}, rms.normalizedShape(), "normalizedShape() returns a copy");
        // The layers still normalize over (5, 6): as layers made from untouched arrays, and (*, [6, 5]) is refused.
        assertArrayEquals(new LayerNorm(5, 6).forward(Tensor.of(x, DIMS)).toArray(),
                ln.forward(Tensor.of(x, DIMS)).toArray());
        assertArrayEquals(new LayerNorm(5, 6).forward(Tensor.of(x, DIMS)).toArray(),
                ln4.forward(Tensor.of(x, DIMS)).toArray());
        assertArrayEquals(new RMSNorm(5, 6).forward(Tensor.of(x, DIMS)).toArray(),
                rms.forward(Tensor.of(x, DIMS)).toArray());
        expectRejected("(*, [5, 6])", () -> ln.forward(new int[] {3, 4, 6, 5}, x, 0, new float[SIZE], 0));
        expectRejected("(*, [5, 6])", () -> rms.forward(new int[] {3, 4, 6, 5}, x, 0, new float[SIZE], 0));
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

        // elementwiseAffine = false: no parameters, the functional operation without a weight.
        RMSNorm plain = new RMSNorm(new int[] {6}, null, false);
        assertTrue(plain.parameters().isEmpty());
        assertEquals(0x1p-23, plain.eps(), 0.0);
        Normalized fp = RMSNormOps.get().forward(Tensor.of(x, DIMS), -1, null, 0x1p-23);
        float[] yPlain = plain.forward(Tensor.of(x, DIMS)).toArray();
        assertArrayEquals(fp.y().toArray(), yPlain);
        assertTrue(!Arrays.equals(y, yPlain), "the weight of the affine layer mattered above");
        NormGradients gp = plain.backward(Tensor.of(dy, DIMS));
        NormGradients fgp = RMSNormOps.get().backward(Tensor.of(dy, DIMS), Tensor.of(x, DIMS), -1, null, fp.saved());
        assertArrayEquals(fgp.dx().toArray(), gp.dx().toArray());
        assertNull(gp.dWeight());
        assertNull(gp.dBias());
        float[] dx = nans(SIZE);
        plain.backwardAccumulate(dy, 0, dx, 0);
        assertArrayEquals(fgp.dx().toArray(), dx, "backwardAccumulate without parameters still writes dx");
        float[] dxRaw = nans(SIZE);
        plain.backward(dy, 0, dxRaw, 0, null, null);
        assertArrayEquals(fgp.dx().toArray(), dxRaw);
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
        float[] mean2 = in.runningMean();
        float[] var2 = in.runningVar();
        // A third step, with x again: the output and gradients are the first step's (instance statistics only),
        // and the running statistics move once more from where the second step left them.
        assertArrayEquals(f.y().toArray(), in.forward(Tensor.of(x, DIMS)).toArray(), "third forward");
        for (int c = 0; c < 4; c++) {
            assertEquals(0.9 * mean2[c] + 0.1 * first[0][c], in.runningMean()[c], 1e-6, "third mean " + c);
            assertEquals(0.9 * var2[c] + 0.1 * first[1][c], in.runningVar()[c], 1e-6, "third var " + c);
        }
        NormGradients third = in.backward(Tensor.of(dy, DIMS));
        assertArrayEquals(fg.dx().toArray(), third.dx().toArray(), "third backward");
        assertArrayEquals(fg.dWeight(), third.dWeight());
        assertArrayEquals(fg.dBias(), third.dBias());

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
    void instanceNormInEvalWithRunningStatisticsTakesASingleSpatialElement() {
        InstanceNorm in = new InstanceNorm(4, 1e-5, 0.1, true, true);
        randomize(in, 26);
        float[] x = data(27);
        for (int i = 0; i < SIZE; i++) {
            x[i] = x[i] * 2 + (i / 30 % 4);   // running statistics away from 0 and 1
        }
        in.forward(Tensor.of(x, DIMS));
        float[] runningMean = in.runningMean();
        float[] runningVar = in.runningVar();
        float[] w = in.parameters().get(0).value();
        float[] b = in.parameters().get(1).value();
        MeanVariance running = new MeanVariance(runningMean, runningVar);
        float[] x1 = Distribution.NORMAL.tensor(NcsShape.of(3, 4), 28);
        float[] dy1 = Distribution.NORMAL.tensor(NcsShape.of(3, 4), 29);
        expectRejected("more than 1 spatial element", () -> in.forward(Tensor.of(x1, 3, 4, 1)));
        in.eval();
        for (int[] shape : new int[][] {{3, 4, 1}, {3, 4, 1, 1}, {3, 4, 1, 1, 1}}) {
            Tensor t = Tensor.of(x1, shape);
            float[] y = in.forward(t).toArray();
            assertArrayEquals(BatchNormOps.get().forwardInference(t, new Affine(w, b), running, 1e-5).toArray(), y,
                    Arrays.toString(shape));
            NormGradients g = in.backward(Tensor.of(dy1, shape));
            NormGradients frozen = BatchNormOps.get().backwardFrozen(Tensor.of(dy1, shape), t, w, running, 1e-5);
            assertSameGradients(frozen, g, Arrays.toString(shape));
        }
        assertArrayEquals(runningMean, in.runningMean(), "eval leaves the running statistics");
        assertArrayEquals(runningVar, in.runningVar());
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
            // Weight, then bias where the layer has one (RMSNorm has none): one call's gradients.
            List<float[]> onceGrads = new ArrayList<>();
            onceGrads.add(once.dWeight());
            if (once.dBias() != null) {
                onceGrads.add(once.dBias());
            }
            List<Parameter> parameters = layer.parameters();
            assertEquals(onceGrads.size(), parameters.size(), layer.name());
            float[] dx = nans(SIZE);
            layer.backwardAccumulate(dy, 0, dx, 0);
            assertArrayEquals(once.dx().toArray(), dx, layer.name() + ": dx of the first call");
            for (int k = 0; k < parameters.size(); k++) {
                assertArrayEquals(onceGrads.get(k), parameters.get(k).grad(), layer.name() + " one call's "
                        + parameters.get(k).name());
            }
            Arrays.fill(dx, Float.NaN);
            layer.backwardAccumulate(dy, 0, dx, 0);
            assertArrayEquals(once.dx().toArray(), dx, layer.name() + ": dx of the second call");
            for (int k = 0; k < parameters.size(); k++) {
                float[] twice = onceGrads.get(k).clone();
                for (int i = 0; i < twice.length; i++) {
                    twice[i] *= 2;
                }
                assertArrayEquals(twice, parameters.get(k).grad(), layer.name() + " two calls' "
                        + parameters.get(k).name());
            }
            List<float[]> before = parameters.stream().map(p -> p.grad().clone()).toList();
            expectRejected("dx", () -> layer.backwardAccumulate(dy, 0, new float[SIZE - 1], 0));
            expectRejected("dy", () -> layer.backwardAccumulate(new float[SIZE - 1], 0, new float[SIZE], 0));
            expectRejected("dy", () -> layer.backwardAccumulate(dy, 1, new float[SIZE], 0));
            for (int k = 0; k < parameters.size(); k++) {
                assertArrayEquals(before.get(k), parameters.get(k).grad(), layer.name() + " "
                        + parameters.get(k).name() + " grad unchanged by the refusals");
            }
            layer.zeroGrad();
            for (Parameter p : parameters) {
                assertArrayEquals(new float[p.value().length], p.grad(), layer.name() + " " + p.name() + " zeroed");
            }
            Arrays.fill(dx, Float.NaN);
            layer.backwardAccumulate(dy, 0, dx, 0);
            for (int k = 0; k < parameters.size(); k++) {
                assertArrayEquals(onceGrads.get(k), parameters.get(k).grad(), layer.name() + " after zeroGrad");
            }
            expectRejected("dy", () -> layer.backward(Tensor.of(dy, 3, 4, 30)));

            float[] inPlace = x.clone();
            layer.forward(DIMS, inPlace, 0, inPlace, 0);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> layer.backward(Tensor.of(dy, DIMS)));
            assertTrue(e.getMessage().contains("in place"), layer.name() + ": " + e.getMessage());
        }
    }

    @Test
    void tensorForwardAndBackwardReadTheirTensorsOffsets() {
        float[] x = data(30);
        float[] dy = data(31);
        float[] xs = padded(x, 7);
        float[] dys = padded(dy, 3);
        float[] xsBefore = xs.clone();
        for (Supplier<NormLayer> make : everyLayer()) {
            NormLayer atZero = make.get();
            NormLayer atOffset = make.get();
            for (boolean training : new boolean[] {true, false}) {
                if (!training) {
                    eval(atZero);
                    eval(atOffset);
                }
                String where = atZero.name() + (training ? "" : " eval");
                Tensor y0 = atZero.forward(Tensor.of(x, DIMS));
                Tensor y1 = atOffset.forward(Tensor.of(xs, DIMS).at(7));
                assertEquals(0, y1.offset(), where);
                assertArrayEquals(DIMS, y1.shape(), where);
                assertArrayEquals(y0.toArray(), y1.toArray(), where + ": y");
                assertArrayEquals(xsBefore, xs, where + ": x and the values around it are left alone");
                float[][] r0 = running(atZero);
                float[][] r1 = running(atOffset);
                if (r0 != null) {
                    assertArrayEquals(r0[0], r1[0], where + ": running mean");
                    assertArrayEquals(r0[1], r1[1], where + ": running var");
                }
                NormGradients g0 = atZero.backward(Tensor.of(dy, DIMS));
                NormGradients g1 = atOffset.backward(Tensor.of(dys, DIMS).at(3));
                assertEquals(0, g1.dx().offset(), where);
                assertSameGradients(g0, g1, where);
                // dy at an offset after x at offset 0, too.
                assertSameGradients(g0, atZero.backward(Tensor.of(dys, DIMS).at(3)), where + ", dy at 3 only");
            }
        }
    }

    @Test
    void tensorBackwardRejectsAChannelsLastOrNullDy() {
        float[] x = data(32);
        float[] dy = data(33);
        for (Supplier<NormLayer> make : everyLayer()) {
            NormLayer layer = make.get();
            layer.forward(Tensor.of(x, DIMS));
            NormGradients expected = layer.backward(Tensor.of(dy, DIMS));
            expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_LAST",
                    () -> layer.backward(Tensor.of(dy, DIMS).in(Layout.CHANNELS_LAST)));
            expectRejected("dy must not be null", () -> layer.backward((Tensor) null));
            expectRejected("x must not be null", () -> layer.forward((Tensor) null));
            // The refusals change nothing: the same backward still gives the same gradients.
            assertSameGradients(expected, layer.backward(Tensor.of(dy, DIMS)), layer.name());
        }
    }

    @Test
    void backwardUsesTheLastSuccessfulForward() {
        float[] x = data(34);
        float[] dy = data(35);
        int[] small = {2, 4, 5, 6};
        float[] x2 = Distribution.NORMAL.tensor(NcsShape.of(small), 36);
        for (int i = 0; i < x2.length; i++) {
            x2[i] = x2[i] * 3 - 1;
        }
        float[] dy2 = Distribution.NORMAL.tensor(NcsShape.of(small), 37);
        for (Supplier<NormLayer> make : everyLayer()) {
            // A second forward with another batch size (other row / statistics counts): backward is the second's.
            NormLayer twice = make.get();
            twice.forward(Tensor.of(x, DIMS));
            twice.forward(Tensor.of(x2, small));
            NormLayer secondOnly = make.get();
            secondOnly.forward(Tensor.of(x2, small));
            assertSameGradients(secondOnly.backward(Tensor.of(dy2, small)), twice.backward(Tensor.of(dy2, small)),
                    twice.name() + " after a second forward");
            expectRejected("dy has shape [3, 4, 5, 6]", () -> twice.backward(Tensor.of(dy, DIMS)));
            // And back to the first size.
            twice.forward(Tensor.of(x, DIMS));
            NormLayer firstOnly = make.get();
            firstOnly.forward(Tensor.of(x, DIMS));
            NormGradients expected = firstOnly.backward(Tensor.of(dy, DIMS));
            assertSameGradients(expected, twice.backward(Tensor.of(dy, DIMS)), twice.name() + " back to N = 3");

            // Rejected forwards, with the same shape and with another, leave the last successful one in place.
            NormLayer rejected = make.get();
            rejected.forward(Tensor.of(x, DIMS));
            float[][] runningBefore = running(rejected);
            float[] other = data(38);
            expectRejected("y", () -> rejected.forward(DIMS, other, 0, new float[SIZE - 1], 0));
            expectRejected("y", () -> rejected.forward(DIMS, other, 0, new float[SIZE], 1));
            expectRejected("x", () -> rejected.forward(DIMS, other, 1, new float[SIZE], 0));
            expectRejected("y", () -> rejected.forward(small, x2, 0, new float[x2.length - 1], 0));
            expectRejected("x", () -> rejected.forward(small, x2, 1, new float[x2.length], 0));
            assertEquals(rejected.name() + ", last input [3, 4, 5, 6]", rejected.toString());
            assertSameGradients(expected, rejected.backward(Tensor.of(dy, DIMS)),
                    rejected.name() + " after rejected forwards");
            expectRejected("dy has shape [2, 4, 5, 6]", () -> rejected.backward(Tensor.of(dy2, small)));
            float[][] runningAfter = running(rejected);
            if (runningBefore != null) {
                assertArrayEquals(runningBefore[0], runningAfter[0], rejected.name() + ": running mean");
                assertArrayEquals(runningBefore[1], runningAfter[1], rejected.name() + ": running var");
            }
        }
    }

    @Test
    void rowLayersRejectChannelsLastTensorsAndAllKeepTheirSettings() {
        Tensor nhwc = Tensor.of(data(17), DIMS).in(Layout.CHANNELS_LAST);
        List<NormLayer> layers = List.of(new LayerNorm(6), new RMSNorm(6), new GroupNorm(2, 4), new InstanceNorm(4),
                new BatchNorm(4));
        List<String> names = List.of("LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm", "BatchNorm");
        for (int i = 0; i < layers.size(); i++) {
            NormLayer layer = layers.get(i);
            if (i < 2) {
                expectRejected(names.get(i) + " normalizes the trailing dimensions of row-major memory and takes no"
                        + " channels-last layout", () -> layer.forward(nhwc));
            }
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
        randomize(whole, 41);
        float[] yWhole = nans(30);
        whole.forward(new int[] {5, 6}, x, 0, yWhole, 0);
        Affine wholeAffine = new Affine(whole.parameters().get(0).value(), whole.parameters().get(1).value());
        assertArrayEquals(LayerNormOps.get().forward(Tensor.of(x, 5, 6), 0, wholeAffine, 1e-5).y().toArray(), yWhole,
                "LayerNorm over the whole input");
        GroupNorm oneGroup = new GroupNorm(1, 4);
        randomize(oneGroup, 42);
        float[] yOneGroup = nans(SIZE);
        oneGroup.forward(DIMS, x, 0, yOneGroup, 0);
        Affine oneGroupAffine = new Affine(oneGroup.parameters().get(0).value(),
                oneGroup.parameters().get(1).value());
        assertArrayEquals(GroupNormOps.get().forward(Tensor.of(x, DIMS), 1, oneGroupAffine, 1e-5).y().toArray(),
                yOneGroup, "GroupNorm with one group");
        int[] oneChannel = {3, 1, 120};
        GroupNorm single = new GroupNorm(1, 1);
        randomize(single, 43);
        Affine singleAffine = new Affine(single.parameters().get(0).value(), single.parameters().get(1).value());
        assertArrayEquals(GroupNormOps.get().forward(Tensor.of(x, oneChannel), 1, singleAffine, 1e-5).y().toArray(),
                single.forward(Tensor.of(x, oneChannel)).toArray(), "GroupNorm of one channel");
        assertArrayEquals(GroupNormOps.get().forward(Tensor.of(x, oneChannel), 1, Affine.NONE, 1e-5).y().toArray(),
                new InstanceNorm(1).forward(Tensor.of(x, oneChannel)).toArray(), "InstanceNorm of one channel");
        // InstanceNorm1d: (N, C, L).
        float[] y1d = nans(SIZE);
        new InstanceNorm(4).forward(new int[] {3, 4, 30}, x, 0, y1d, 0);
        assertArrayEquals(GroupNormOps.get().forward(Tensor.of(x, 3, 4, 30), 4, Affine.NONE, 1e-5).y().toArray(), y1d,
                "InstanceNorm1d");
        // Momentum at both ends of [0, 1]: the running statistics stay at 0 and 1, or become the batch's.
        InstanceNorm frozen = new InstanceNorm(4, 1e-5, 0.0, false, true);
        InstanceNorm replaced = new InstanceNorm(4, 1e-5, 1.0, false, true);
        float[] yFrozen = frozen.forward(Tensor.of(x, DIMS)).toArray();
        assertArrayEquals(yFrozen, replaced.forward(Tensor.of(x, DIMS)).toArray(), "momentum does not change y");
        assertArrayEquals(new float[4], frozen.runningMean(), "momentum 0");
        assertArrayEquals(new float[] {1f, 1f, 1f, 1f}, frozen.runningVar(), "momentum 0");
        double[][] averages = instanceAverages(x);
        for (int c = 0; c < 4; c++) {
            assertEquals(averages[0][c], replaced.runningMean()[c], 1e-6, "momentum 1: mean " + c);
            assertEquals(averages[1][c], replaced.runningVar()[c], 1e-6, "momentum 1: var " + c);
        }
        expectRejected("numFeatures", () -> new InstanceNorm(0));
        expectRejected("eps", () -> new InstanceNorm(4, -1e-5, 0.1, false, false));
        expectRejected("eps", () -> new GroupNorm(2, 4, Double.NaN, true));
        expectRejected("eps", () -> new RMSNorm(new int[] {6}, -1.0, true));
        expectRejected("normalizedShape must have at least one dimension, got null",
                () -> new LayerNorm((int[]) null, 1e-5, true, true));
        // Adjacent, not overlapping: y right after x in the same array is allowed, and backward works.
        float[] both = new float[2 * SIZE];
        System.arraycopy(x, 0, both, 0, SIZE);
        LayerNorm reference = new LayerNorm(6);
        float[] yReference = reference.forward(Tensor.of(x, DIMS)).toArray();
        NormGradients gReference = reference.backward(Tensor.of(data(20), DIMS));
        LayerNorm ln = new LayerNorm(6);
        ln.forward(DIMS, both, 0, both, SIZE);
        assertArrayEquals(yReference, Arrays.copyOfRange(both, SIZE, 2 * SIZE), "y right after x");
        assertArrayEquals(x, Arrays.copyOfRange(both, 0, SIZE), "x left alone");
        assertSameGradients(gReference, ln.backward(Tensor.of(data(20), DIMS)), "y right after x");
        System.arraycopy(x, 0, both, SIZE, SIZE);
        ln.forward(DIMS, both, SIZE, both, 0);
        assertArrayEquals(yReference, Arrays.copyOfRange(both, 0, SIZE), "y right before x");
        assertSameGradients(gReference, ln.backward(Tensor.of(data(20), DIMS)), "y right before x");
        InstanceNorm tracked = new InstanceNorm(4, 1e-5, 0.1, false, true);
        tracked.forward(DIMS, both, 0, both, SIZE);
        expectRejected("overlaps", () -> tracked.forward(DIMS, both, 1, both, SIZE));
    }
}
