package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Parameters an optimizer can use without copies, gradients that accumulate (backwardAccumulate) or are
 * overwritten (backward into arrays), and the layer with ONNX's running statistics.
 */
class BatchNormParametersTest {

    private static final int[] DIMS = {4, 3, 5, 5};
    private static final NcsShape SHAPE = NcsShape.of(DIMS);

    private static BatchNorm layer() {
        BatchNorm bn = new BatchNorm(3);
        bn.setWeight(new float[] {2f, -0.5f, 1.5f});
        bn.setBias(new float[] {0.1f, 0.2f, -0.3f});
        return bn;
    }

    @Test
    void parametersAreTheLayersOwnArrays() {
        BatchNorm bn = layer();
        List<Parameter> parameters = bn.parameters();
        assertEquals(List.of("weight", "bias"), parameters.stream().map(Parameter::name).toList());
        assertSame(parameters.get(0).value(), bn.parameters().get(0).value(), "the same array on every call");
        parameters.get(0).value()[1] = 3f;
        parameters.get(1).value()[2] = 0.75f;
        assertArrayEquals(new float[] {2f, 3f, 1.5f}, bn.weight());
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.75f}, bn.bias());

        float[] x = Distribution.NORMAL.tensor(SHAPE, 1);
        BatchNorm set = layer();
        set.setWeight(new float[] {2f, 3f, 1.5f});
        set.setBias(new float[] {0.1f, 0.2f, 0.75f});
        assertArrayEquals(set.forward(DIMS, x), bn.forward(DIMS, x), "forward sees the in-place update");
        assertArrayEquals(new float[3], parameters.get(0).grad(), "gradients start at zero");
    }

    @Test
    void backwardAccumulateAddsToTheGradientsUntilZeroGrad() {
        float[] x = Distribution.NORMAL.tensor(SHAPE, 2);
        float[] dy = Distribution.NORMAL.tensor(SHAPE, 3);
        BatchNorm reference = layer();
        reference.forward(DIMS, x);
        BatchNorm.Gradients once = reference.backward(dy);

        BatchNorm bn = layer();
        bn.forward(DIMS, x);
        float[] dx = new float[x.length];
        bn.backwardAccumulate(dy, 0, dx, 0);
        assertArrayEquals(once.dx(), dx);
        assertArrayEquals(once.dWeight(), bn.parameters().get(0).grad());
        assertArrayEquals(once.dBias(), bn.parameters().get(1).grad());
        Arrays.fill(dx, Float.NaN);
        bn.backwardAccumulate(dy, 0, dx, 0);
        assertArrayEquals(once.dx(), dx, "dx is overwritten by the second call, not accumulated");
        for (int ch = 0; ch < 3; ch++) {
            assertEquals(2 * once.dWeight()[ch], bn.parameters().get(0).grad()[ch], 0f, "weight grad " + ch);
            assertEquals(2 * once.dBias()[ch], bn.parameters().get(1).grad()[ch], 0f, "bias grad " + ch);
        }
        bn.zeroGrad();
        assertArrayEquals(new float[3], bn.parameters().get(0).grad());
        assertArrayEquals(new float[3], bn.parameters().get(1).grad());
        Arrays.fill(dx, Float.NaN);
        bn.backwardAccumulate(dy, 0, dx, 0);
        assertArrayEquals(once.dx(), dx);
        assertArrayEquals(once.dWeight(), bn.parameters().get(0).grad(), "after zeroGrad, one call's worth");
        assertArrayEquals(once.dBias(), bn.parameters().get(1).grad(), "after zeroGrad, one call's worth");
    }

    @Test
    void backwardIntoArraysOverwritesThem() {
        float[] x = Distribution.NORMAL.tensor(SHAPE, 4);
        float[] dy = Distribution.NORMAL.tensor(SHAPE, 5);
        BatchNorm bn = layer();
        bn.forward(DIMS, x);
        BatchNorm.Gradients fresh = bn.backward(dy);
        float[] dWeight = {7f, 7f, 7f};
        float[] dBias = {-7f, -7f, -7f};
        bn.backward(dy, 0, new float[x.length], 0, dWeight, dBias);
        assertArrayEquals(fresh.dWeight(), dWeight);
        assertArrayEquals(fresh.dBias(), dBias);
        assertArrayEquals(new float[3], bn.parameters().get(0).grad(), "the parameters' gradients untouched");
    }

    @Test
    void backwardAccumulateRejectsBadInputBeforeAddingAnything() {
        float[] x = Distribution.NORMAL.tensor(SHAPE, 6);
        float[] dy = Distribution.NORMAL.tensor(SHAPE, 7);
        BatchNorm bn = layer();
        bn.forward(DIMS, x);
        bn.backwardAccumulate(dy, 0, new float[x.length], 0);
        float[] weightGrad = bn.parameters().get(0).grad().clone();
        float[] biasGrad = bn.parameters().get(1).grad().clone();
        assertFalse(Arrays.equals(new float[3], weightGrad), "a nonzero gradient, so that a change would show");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bn.backwardAccumulate(dy, 0, new float[x.length - 1], 0));
        assertTrue(e.getMessage().contains("dx"), e.getMessage());
        assertArrayEquals(weightGrad, bn.parameters().get(0).grad());
        assertArrayEquals(biasGrad, bn.parameters().get(1).grad());

        // A dy of the wrong length, as an array and as a segment; and one that runs past its end from an offset.
        float[] shortDy = Arrays.copyOf(dy, dy.length - 1);
        float[] dx = new float[x.length];
        e = assertThrows(IllegalArgumentException.class, () -> bn.backwardAccumulate(shortDy, 0, dx, 0));
        assertTrue(e.getMessage().contains("dy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> bn.backwardAccumulate(dy, 1, dx, 0));
        assertTrue(e.getMessage().contains("dy offset 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> bn.backwardAccumulate(MemorySegment.ofArray(shortDy),
                0, MemorySegment.ofArray(dx), 0));
        assertTrue(e.getMessage().contains("dy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> bn.backwardAccumulate(MemorySegment.ofArray(dy),
                1, MemorySegment.ofArray(dx), 0));
        assertTrue(e.getMessage().contains("dy offset 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> bn.backwardAccumulate(MemorySegment.ofArray(dy),
                0, MemorySegment.ofArray(new float[x.length - 1]), 0));
        assertTrue(e.getMessage().contains("dx"), e.getMessage());
        assertArrayEquals(weightGrad, bn.parameters().get(0).grad(), "weight grad unchanged by the refusals");
        assertArrayEquals(biasGrad, bn.parameters().get(1).grad(), "bias grad unchanged by the refusals");
        assertArrayEquals(new float[x.length], dx, "dx unchanged by the refusals");
    }

    @Test
    void withoutAffineThereAreNoParametersAndDxIsStillComputed() {
        float[] x = Distribution.NORMAL.tensor(SHAPE, 8);
        float[] dy = Distribution.NORMAL.tensor(SHAPE, 9);
        BatchNorm bn = new BatchNorm(3, 1e-5, 0.1, false, true);
        assertTrue(bn.parameters().isEmpty());
        bn.forward(DIMS, x);
        float[] expected = bn.backward(dy).dx();
        float[] dx = new float[x.length];
        bn.backwardAccumulate(dy, 0, dx, 0);
        assertArrayEquals(expected, dx);
    }

    @Test
    void onnxLayerMovesItsRunningStatisticsByOnnxsRule() {
        float[] x = Distribution.NORMAL.tensor(SHAPE, 10);
        BatchNorm onnx = BatchNorm.onnx(3, 1e-5, 0.9);
        BatchNorm torch = new BatchNorm(3);
        assertEquals(RunningStatsConvention.ONNX, onnx.runningStatsConvention());
        assertEquals(RunningStatsConvention.PYTORCH, torch.runningStatsConvention());
        assertArrayEquals(torch.forward(DIMS, x), onnx.forward(DIMS, x), "the same batch statistics normalize");
        int m = DIMS[0] * DIMS[2] * DIMS[3];
        for (int ch = 0; ch < 3; ch++) {
            double sum = 0;
            for (int i = 0; i < DIMS[0]; i++) {
                for (int s = 0; s < 25; s++) {
                    sum += x[(i * 3 + ch) * 25 + s];
                }
            }
            double mean = sum / m;
            double squares = 0;
            for (int i = 0; i < DIMS[0]; i++) {
                for (int s = 0; s < 25; s++) {
                    double d = x[(i * 3 + ch) * 25 + s] - mean;
                    squares += d * d;
                }
            }
            double biased = squares / m;
            // ONNX: 0.9 * old + 0.1 * batch, biased variance; PyTorch: 0.9 * old + 0.1 * batch, unbiased.
            assertEquals(0.1 * mean, onnx.runningMean()[ch], 1e-6, "ONNX running mean " + ch);
            assertEquals(0.9 + 0.1 * biased, onnx.runningVar()[ch], 1e-6, "ONNX running variance " + ch);
            assertEquals(0.9 + 0.1 * biased * m / (m - 1), torch.runningVar()[ch], 1e-6, "PyTorch's " + ch);
        }
        assertFalse(java.util.Arrays.equals(onnx.runningVar(), torch.runningVar()));
        assertEquals(0.9, onnx.momentum(), 0.0);
        assertEquals(0.1, torch.momentum(), 0.0);
        assertEquals(1, onnx.numBatchesTracked());
        assertEquals(1, torch.numBatchesTracked());

        // A second step from the running values the first left, with a batch whose statistics differ per
        // channel: 0.9 * old + 0.1 * batch, the old value being the stored float.
        float[] x2 = Distribution.NORMAL.tensor(SHAPE, 11);
        for (int i = 0; i < x2.length; i++) {
            x2[i] = x2[i] * (1 + (i / 25) % 3) + 2 * ((i / 25) % 3) - 1;   // channel ch: scale 1 + ch, mean 2ch - 1
        }
        float[] oldMean = onnx.runningMean();
        float[] oldVar = onnx.runningVar();
        onnx.forward(DIMS, x2);
        assertEquals(2, onnx.numBatchesTracked());
        for (int ch = 0; ch < 3; ch++) {
            double[] moments = biasedMoments(x2, ch);
            assertEquals(0.9 * oldMean[ch] + 0.1 * moments[0], onnx.runningMean()[ch],
                    1e-6 * (1 + Math.abs(moments[0])), "second ONNX running mean " + ch);
            assertEquals(0.9 * oldVar[ch] + 0.1 * moments[1], onnx.runningVar()[ch], 1e-6 * (1 + moments[1]),
                    "second ONNX running variance " + ch);
        }
        // Eval mode uses the running statistics and does not count a batch.
        onnx.eval();
        onnx.forward(DIMS, x2);
        assertEquals(2, onnx.numBatchesTracked());
        assertNull(new BatchNorm(3, 1e-5, null, true, true).momentum(), "null: cumulative average");
    }

    /** Channel {@code ch}'s mean and biased variance in double, for a DIMS tensor. */
    private static double[] biasedMoments(float[] x, int ch) {
        int m = DIMS[0] * DIMS[2] * DIMS[3];
        double sum = 0;
        for (int i = 0; i < DIMS[0]; i++) {
            for (int s = 0; s < 25; s++) {
                sum += x[(i * 3 + ch) * 25 + s];
            }
        }
        double mean = sum / m;
        double squares = 0;
        for (int i = 0; i < DIMS[0]; i++) {
            for (int s = 0; s < 25; s++) {
                double d = x[(i * 3 + ch) * 25 + s] - mean;
                squares += d * d;
            }
        }
        return new double[] {mean, squares / m};
    }

    @Test
    void onnxLayerRejectsAMomentumOutsideTheUnitInterval() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchNorm.onnx(3, 1e-5, 1.5));
        assertTrue(e.getMessage().contains("momentum") && e.getMessage().contains("1.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BatchNorm.onnx(3, 1e-5, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> BatchNorm.onnx(0, 1e-5, 0.9));
    }
}
