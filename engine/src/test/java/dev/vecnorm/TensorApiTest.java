package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The tensor overloads of every operation give bitwise what the raw overloads give for the same arrays, offsets
 * and layouts, and reject what does not fit with the argument named.
 */
class TensorApiTest {

    private static final int[] DIMS = {3, 4, 5, 6};
    private static final int SIZE = 3 * 4 * 5 * 6;

    private static float[] values(int count, long seed) {
        return Distribution.NORMAL.tensor(NcsShape.of(1, count), seed);
    }

    /** {@code SIZE} values at {@code offset} of a longer array, NaN around them. */
    private static float[] padded(int offset, long seed) {
        float[] a = new float[offset + SIZE + 5];
        Arrays.fill(a, Float.NaN);
        System.arraycopy(values(SIZE, seed), 0, a, offset, SIZE);
        return a;
    }

    private static void expectRejected(String word, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(word), "message should name " + word + ": " + e.getMessage());
    }

    @Test
    void batchNormTrainingAndBackwardMatchTheRawCallsInBothLayouts() {
        BatchNormOps ops = BatchNormOps.get();
        float[] weight = values(4, 1);
        float[] bias = values(4, 2);
        for (Layout layout : Layout.values()) {
            float[] xs = padded(7, 3);
            float[] dys = padded(2, 4);
            float[] rm = values(4, 5);
            float[] rv = {1f, 2f, 0.5f, 3f};
            float[] rmRaw = rm.clone();
            float[] rvRaw = rv.clone();
            Tensor x = Tensor.of(xs, DIMS).at(7).in(layout);
            Normalized out = ops.forwardTraining(x, new Affine(weight, bias), 1e-3,
                    RunningStats.pytorch(rm, rv, 0.1));

            float[] y = new float[SIZE];
            float[] mean = new float[4];
            float[] invStd = new float[4];
            ops.forwardTraining(layout, DIMS, xs, 7, y, 0, weight, bias, 1e-3, mean, invStd,
                    RunningStats.pytorch(rmRaw, rvRaw, 0.1));
            assertArrayEquals(y, out.y().toArray(), layout + " y");
            assertEquals(layout, out.y().layout());
            assertArrayEquals(DIMS, out.y().shape());
            assertArrayEquals(mean, out.saved().mean());
            assertArrayEquals(invStd, out.saved().invStd());
            assertArrayEquals(rmRaw, rm);
            assertArrayEquals(rvRaw, rv);

            Tensor dy = Tensor.of(dys, DIMS).at(2).in(layout);
            NormGradients g = ops.backward(dy, x, weight, out.saved());
            float[] dx = new float[SIZE];
            float[] dw = new float[4];
            float[] db = new float[4];
            ops.backward(layout, DIMS, dys, 2, xs, 7, weight, mean, invStd, dx, 0, dw, db);
            assertArrayEquals(dx, g.dx().toArray(), layout + " dx");
            assertArrayEquals(dw, g.dWeight());
            assertArrayEquals(db, g.dBias());

            MeanVariance running = new MeanVariance(rm, rv);
            Tensor yEval = ops.forwardInference(x, new Affine(weight, bias), running, 1e-3);
            ops.forwardInference(layout, DIMS, xs, 7, y, 0, weight, bias, rm, rv, 1e-3);
            assertArrayEquals(y, yEval.toArray(), layout + " inference");
            NormGradients frozen = ops.backwardFrozen(dy, x, weight, running, 1e-3);
            ops.backwardFrozen(layout, DIMS, dys, 2, xs, 7, weight, rm, rv, 1e-3, dx, 0, dw, db);
            assertArrayEquals(dx, frozen.dx().toArray(), layout + " frozen dx");
            assertArrayEquals(dw, frozen.dWeight());
            assertArrayEquals(db, frozen.dBias());
        }
    }

    @Test
    void familyOperationsMatchTheirRawCalls() {
        float[] xs = padded(3, 6);
        float[] dys = padded(0, 7);
        Tensor x = Tensor.of(xs, DIMS).at(3);
        Tensor dy = Tensor.of(dys, DIMS);

        float[] gw = values(4, 8);
        float[] gb = values(4, 9);
        GroupNormOps group = GroupNormOps.get();
        Normalized gn = group.forward(x, 2, new Affine(gw, gb), 1e-5);
        float[] y = new float[SIZE];
        float[] mean = new float[6];
        float[] invStd = new float[6];
        group.forward(DIMS, 2, xs, 3, y, 0, gw, gb, 1e-5, mean, invStd);
        assertArrayEquals(y, gn.y().toArray());
        assertArrayEquals(mean, gn.saved().mean());
        assertArrayEquals(invStd, gn.saved().invStd());
        NormGradients gg = group.backward(dy, x, 2, gw, gn.saved());
        float[] dx = new float[SIZE];
        float[] dw = new float[4];
        float[] db = new float[4];
        group.backward(DIMS, 2, dys, 0, xs, 3, gw, mean, invStd, dx, 0, dw, db);
        assertArrayEquals(dx, gg.dx().toArray());
        assertArrayEquals(dw, gg.dWeight());
        assertArrayEquals(db, gg.dBias());

        float[] lw = values(30, 10);
        float[] lb = values(30, 11);
        LayerNormOps layer = LayerNormOps.get();
        Normalized ln = layer.forward(x, -2, new Affine(lw, lb), 1e-5);
        float[] rowMean = new float[12];
        float[] rowInvStd = new float[12];
        layer.forward(DIMS, -2, xs, 3, y, 0, lw, lb, 1e-5, rowMean, rowInvStd);
        assertArrayEquals(y, ln.y().toArray());
        assertArrayEquals(rowMean, ln.saved().mean());
        NormGradients lg = layer.backward(dy, x, -2, lw, ln.saved());
        float[] lw2 = new float[30];
        float[] lb2 = new float[30];
        layer.backward(DIMS, -2, dys, 0, xs, 3, lw, rowMean, rowInvStd, dx, 0, lw2, lb2);
        assertArrayEquals(dx, lg.dx().toArray());
        assertArrayEquals(lw2, lg.dWeight());
        assertArrayEquals(lb2, lg.dBias());

        RMSNormOps rms = RMSNormOps.get();
        float[] rw = values(6, 12);
        Normalized rn = rms.forward(x, -1, rw, 1e-6);
        float[] invRms = new float[60];
        rms.forward(DIMS, -1, xs, 3, y, 0, rw, 1e-6, invRms);
        assertArrayEquals(y, rn.y().toArray());
        assertNull(rn.saved().mean());
        assertArrayEquals(invRms, rn.saved().invStd());
        NormGradients rg = rms.backward(dy, x, -1, rw, rn.saved());
        float[] rdw = new float[6];
        rms.backward(DIMS, -1, dys, 0, xs, 3, rw, invRms, dx, 0, rdw);
        assertArrayEquals(dx, rg.dx().toArray());
        assertArrayEquals(rdw, rg.dWeight());
        assertNull(rg.dBias());
    }

    @Test
    void aTensorMustFitItsArray() {
        float[] data = new float[SIZE];
        expectRejected("length " + SIZE, () -> Tensor.of(data, 3, 4, 5, 7));
        expectRejected("offset 1", () -> Tensor.of(data, DIMS).at(1));
        expectRejected("offset -1", () -> Tensor.of(data, DIMS).at(-1));
        expectRejected("dims", () -> Tensor.of(data, 3, -4));
        expectRejected("data", () -> Tensor.of(null, DIMS));
        expectRejected("shape", () -> Tensor.of(data));
        expectRejected("shape", () -> Tensor.zeros((int[]) null));
        expectRejected("layout", () -> Tensor.of(data, DIMS).in(null));
        expectRejected("float[]", () -> Tensor.zeros(1 << 16, 1 << 16));
        expectRejected("float[]", () -> Tensor.zeros(1 << 16, 1 << 16, 1 << 16, 1 << 16)); // 2^64 wraps to 0
        assertEquals(0, Tensor.zeros(0, 3).size(), "a zero dim is an empty tensor, not an error");
        Tensor t = Tensor.of(new float[SIZE + 2], DIMS).at(2);
        assertEquals(SIZE, t.size());
        assertEquals(2, t.offset());
        assertEquals(4, t.rank());
        assertEquals(5, t.dim(2));
        int[] shape = t.shape();
        shape[0] = 99;
        assertEquals(3, t.dim(0), "shape() is a copy");
    }

    @Test
    void tensorsThatDisagreeAreRejectedBeforeAnyWrite() {
        BatchNormOps ops = BatchNormOps.get();
        Tensor x = Tensor.of(values(SIZE, 13), DIMS);
        Normalized out = ops.forwardTraining(x, Affine.NONE, 1e-5, null);
        float[] before = out.saved().mean().clone();
        expectRejected("dy", () -> ops.backward(Tensor.of(new float[SIZE], 3, 4, 30), x, null, out.saved()));
        expectRejected("dy", () -> ops.backward(Tensor.of(new float[SIZE], DIMS).in(Layout.CHANNELS_LAST), x, null,
                out.saved()));
        expectRejected("dy must not be null", () -> ops.backward(null, x, null, out.saved()));
        expectRejected("saved must not be null", () -> ops.backward(x, x, null, null));
        expectRejected("affine", () -> ops.forwardTraining(x, null, 1e-5, null));
        expectRejected("statistics must not be null", () -> ops.forwardInference(x, Affine.NONE, null, 1e-5));
        expectRejected("x must not be null", () -> ops.forwardTraining(null, Affine.NONE, 1e-5, null));
        expectRejected("gamma", () -> ops.forwardTraining(x, new Affine(new float[3], null), 1e-5, null));
        expectRejected("saveInvStd", () -> ops.backward(x, x, null, new SavedStatistics(new float[4], new float[3])));
        assertArrayEquals(before, out.saved().mean());
        Tensor nhwc = x.in(Layout.CHANNELS_LAST);
        expectRejected("channels-first", () -> GroupNormOps.get().forward(nhwc, 2, Affine.NONE, 1e-5));
        expectRejected("channels-first", () -> LayerNormOps.get().forward(nhwc, -1, Affine.NONE, 1e-5));
        expectRejected("channels-first", () -> RMSNormOps.get().forward(nhwc, -1, null, 1e-5));
        expectRejected("groups", () -> GroupNormOps.get().forward(x, 3, Affine.NONE, 1e-5));
        expectRejected("groups", () -> GroupNormOps.get().forward(x, 0, Affine.NONE, 1e-5));
    }
}
