package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input is rejected with an exception naming the argument and value, before any output or state is written.
 */
@Tag("width-independent")
class BadInputTest {

    private static final float SENTINEL = 42f;
    private static final int[] DIMS = {2, 3, 4};
    private static final int SIZE = 24;

    private final BatchNormOps ops = BatchNormOps.get();
    private final float[] x = ramp(SIZE);
    private final float[] y = filled(SIZE);
    private final float[] mean = filled(3);
    private final float[] invStd = filled(3);
    private final float[] runMean = filled(3);
    private final float[] runVar = filled(3);
    private final float[] gamma = {1f, 2f, 3f};
    private final float[] beta = {0f, 1f, 2f};

    private static float[] filled(int n) {
        float[] a = new float[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    private static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i * 0.5f - 3;
        }
        return a;
    }

    /** Runs the call, expects IllegalArgumentException mentioning every fragment, and checks nothing was written. */
    private void rejected(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' lacks '" + f + "'");
        }
        for (float[] out : new float[][] {y, mean, invStd, runMean, runVar}) {
            for (float v : out) {
                assertEquals(SENTINEL, v, "an output was written before the exception: " + e.getMessage());
            }
        }
        assertArrayEquals(ramp(SIZE), x, "x was modified");
    }

    private void train(int[] dims, float[] in, int inOff, float[] out, int outOff, float[] g, float[] b,
            double eps, RunningStats rs) {
        ops.forwardTraining(dims, in, inOff, out, outOff, g, b, eps, mean, invStd, rs);
    }

    private RunningStats running() {
        return RunningStats.pytorch(runMean, runVar, 0.1);
    }

    @Test
    void shapes() {
        rejected(() -> train(new int[] {24}, x, 0, y, 0, null, null, 1e-5, running()), "rank", "[24]");
        rejected(() -> train(new int[] {1, 1, 2, 2, 2, 3}, x, 0, y, 0, null, null, 1e-5, running()), "rank 6");
        rejected(() -> train(new int[] {2, 0, 4}, x, 0, y, 0, null, null, 1e-5, running()), "positive", "[2, 0, 4]");
        rejected(() -> train(new int[] {2, -3, 4}, x, 0, y, 0, null, null, 1e-5, running()), "[2, -3, 4]");
        rejected(() -> train(null, x, 0, y, 0, null, null, 1e-5, running()), "shape");
        rejected(() -> train(new int[] {65536, 65536}, x, 0, y, 0, null, null, 1e-5, running()), "float[]");
    }

    @Test
    void lengthsAndOffsets() {
        rejected(() -> train(DIMS, new float[23], 0, y, 0, null, null, 1e-5, running()), "x", "23");
        rejected(() -> train(DIMS, x, 0, new float[10], 0, null, null, 1e-5, running()), "y", "10");
        rejected(() -> train(DIMS, x, 1, y, 0, null, null, 1e-5, running()), "x offset 1", "length 24");
        rejected(() -> train(DIMS, x, -1, y, 0, null, null, 1e-5, running()), "x offset", "-1");
        rejected(() -> train(DIMS, x, 0, y, 5, null, null, 1e-5, running()), "y offset 5");
        rejected(() -> train(DIMS, null, 0, y, 0, null, null, 1e-5, running()), "x must not be null");
        rejected(() -> train(DIMS, x, 0, y, 0, new float[2], null, 1e-5, running()), "gamma", "length 2", "C = 3");
        rejected(() -> train(DIMS, x, 0, y, 0, null, new float[4], 1e-5, running()), "beta", "length 4");
        rejected(() -> ops.forwardTraining(DIMS, x, 0, y, 0, null, null, 1e-5, new float[2], invStd, running()),
                "saveMean", "length 2");
        rejected(() -> train(DIMS, x, 0, y, 0, null, null, 1e-5,
                RunningStats.pytorch(new float[2], new float[2], 0.1)), "running mean", "length 2");
    }

    @Test
    void epsAndMomentum() {
        rejected(() -> train(DIMS, x, 0, y, 0, null, null, -1e-5, running()), "eps", "-1.0E-5");
        rejected(() -> train(DIMS, x, 0, y, 0, null, null, Double.NaN, running()), "eps", "NaN");
        rejected(() -> train(DIMS, x, 0, y, 0, null, null, Double.POSITIVE_INFINITY, running()), "eps", "Infinity");
        rejected(() -> RunningStats.pytorch(runMean, runVar, 1.5), "momentum", "1.5");
        rejected(() -> RunningStats.onnx(runMean, runVar, -0.1), "momentum", "-0.1");
        rejected(() -> RunningStats.onnx(runMean, runVar, Double.NaN), "momentum", "NaN");
        rejected(() -> new BatchNorm(3, 1e-5, 2.0, true, true), "momentum", "2.0");
        rejected(() -> new BatchNorm(3, -1, 0.1, true, true), "eps", "-1.0");
        rejected(() -> new BatchNorm(0), "numFeatures", "0");
        rejected(() -> ops.forwardInference(DIMS, x, 0, y, 0, null, null, gamma, beta, -1), "eps");
    }

    @Test
    void singleValuePerChannelInTraining() {
        rejected(() -> train(new int[] {1, 3}, x, 0, y, 0, null, null, 1e-5, running()),
                "Expected more than 1 value per channel when training", "[1, 3]");
        rejected(() -> train(new int[] {1, 3, 1, 1}, x, 0, y, 0, null, null, 1e-5, running()),
                "more than 1 value", "[1, 3, 1, 1]");
        // Inference with one value per channel is fine.
        float[] out = new float[3];
        ops.forwardInference(new int[] {1, 3}, x, 0, out, 0, null, null, gamma, beta, 1e-5);
    }

    @Test
    void aliasing() {
        float[] shared = ramp(SIZE + 1);
        rejected(() -> train(DIMS, shared, 0, shared, 1, null, null, 1e-5, running()), "y", "overlaps x");
        assertArrayEquals(ramp(SIZE + 1), shared);
        rejected(() -> ops.forwardTraining(DIMS, x, 0, y, 0, null, null, 1e-5, mean, mean, null),
                "saveMean", "saveInvStd");
        rejected(() -> ops.forwardTraining(DIMS, x, 0, y, 0, gamma, null, 1e-5, gamma, invStd, null),
                "gamma", "saveMean");
        rejected(() -> ops.forwardTraining(DIMS, x, 0, y, 0, null, null, 1e-5, runMean, invStd, running()),
                "saveMean", "running mean");
        rejected(() -> RunningStats.pytorch(runMean, runMean, 0.1), "different arrays");
    }

    @Test
    void disjointRegionsOfOneArrayAreAccepted() {
        float[] big = new float[48];
        System.arraycopy(x, 0, big, 0, SIZE);
        float[] m = new float[3];
        ops.forwardTraining(DIMS, big, 0, big, 24, null, null, 1e-5, m, null, null);
        float[] expected = new float[SIZE];
        ops.forwardTraining(DIMS, x, 0, expected, 0, null, null, 1e-5, null, null, null);
        assertArrayEquals(expected, Arrays.copyOfRange(big, 24, 48));
    }

    @Test
    void backwardArguments() {
        float[] dy = ramp(SIZE);
        float[] dx = filled(SIZE);
        float[] dgamma = filled(3);
        float[] dbeta = filled(3);
        float[] m = {0f, 0f, 0f};
        float[] is = {1f, 1f, 1f};
        Executable[] calls = {
            () -> ops.backward(DIMS, dy, 0, x, 0, null, m, is, dx, 0, dgamma, dgamma),
            () -> ops.backward(DIMS, dy, 0, x, 0, null, new float[2], is, dx, 0, dgamma, dbeta),
            () -> ops.backward(DIMS, dy, 0, x, 0, null, m, null, dx, 0, dgamma, dbeta),
            () -> ops.backward(DIMS, dy, 1, x, 0, null, m, is, dx, 0, dgamma, dbeta),
            () -> ops.backward(DIMS, dy, 0, x, 0, null, m, is, dy, 1, dgamma, dbeta),
            () -> ops.backwardFrozen(DIMS, dy, 0, x, 0, null, m, is, Double.NaN, dx, 0, dgamma, dbeta),
            () -> ops.backwardFrozen(DIMS, dy, 0, x, 0, null, m, new float[4], 1e-5, dx, 0, dgamma, dbeta),
        };
        String[] fragments = {"dgamma", "saveMean", "saveInvStd", "dy offset 1", "dx", "eps", "variance"};
        for (int i = 0; i < calls.length; i++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, calls[i]);
            assertTrue(e.getMessage().contains(fragments[i]), e.getMessage());
            for (float[] out : new float[][] {dx, dgamma, dbeta}) {
                for (float v : out) {
                    assertEquals(SENTINEL, v, "written before rejecting: " + e.getMessage());
                }
            }
            assertArrayEquals(ramp(SIZE), dy);
        }
    }

    @Test
    void layerRejectsWithoutChangingState() {
        BatchNorm bn = new BatchNorm(3);
        assertThrows(IllegalStateException.class, () -> bn.backward(new float[SIZE]));
        float[] before = bn.runningMean();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bn.forward(new int[] {1, 3}, new float[3]));
        assertTrue(e.getMessage().contains("Expected more than 1 value per channel when training"));
        e = assertThrows(IllegalArgumentException.class, () -> bn.forward(new int[] {2, 4, 3}, new float[24]));
        assertTrue(e.getMessage().contains("expected 3 channels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> bn.forward(DIMS, x, 0, x, 0));
        assertTrue(e.getMessage().contains("in place"), e.getMessage());
        assertArrayEquals(before, bn.runningMean());
        assertEquals(0, bn.numBatchesTracked());
        assertThrows(IllegalStateException.class, () -> bn.backward(new float[SIZE]),
                "rejected forward calls leave nothing to differentiate");
        e = assertThrows(IllegalArgumentException.class, () -> bn.setWeight(new float[4]));
        assertTrue(e.getMessage().contains("weight"));
        assertThrows(IllegalStateException.class, () -> new BatchNorm(3, 1e-5, 0.1, false, true).setBias(beta));
        bn.forward(DIMS, x);
        e = assertThrows(IllegalArgumentException.class, () -> bn.backward(new float[5]));
        assertTrue(e.getMessage().contains("dy"), e.getMessage());
    }
}
