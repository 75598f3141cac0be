package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertArrayEquals(rowInvStd, ln.saved().invStd());
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

    /** The raw bits of each element, so that a comparison tells -0 from 0 and one NaN from another. */
    private static int[] bits(float[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Float.floatToRawIntBits(a[i]);
        }
        return out;
    }

    @Test
    void tensorsThatDisagreeAreRejectedBeforeAnyWrite() {
        BatchNormOps ops = BatchNormOps.get();
        Tensor x = Tensor.of(values(SIZE, 13), DIMS);
        Normalized out = ops.forwardTraining(x, Affine.NONE, 1e-5, null);
        expectRejected("dy", () -> ops.backward(Tensor.of(new float[SIZE], 3, 4, 30), x, null, out.saved()));
        expectRejected("dy", () -> ops.backward(Tensor.of(new float[SIZE], DIMS).in(Layout.CHANNELS_LAST), x, null,
                out.saved()));
        expectRejected("dy must not be null", () -> ops.backward(null, x, null, out.saved()));
        expectRejected("saved must not be null", () -> ops.backward(x, x, null, null));
        expectRejected("saveInvStd", () -> ops.backward(x, x, null, new SavedStatistics(new float[4], new float[3])));

        // The training forward's only writes into the caller's arrays are the running statistics: every
        // rejection must come before them.
        float[] rm = values(4, 14);
        float[] rv = {0.5f, 1f, 2f, 4f};
        int[] rmBits = bits(rm);
        int[] rvBits = bits(rv);
        RunningStats running = RunningStats.pytorch(rm, rv, 0.1);
        for (Layout layout : Layout.values()) {
            Tensor in = x.in(layout);
            expectRejected("affine", () -> ops.forwardTraining(in, null, 1e-5, running));
            expectRejected("gamma", () -> ops.forwardTraining(in, new Affine(new float[3], null), 1e-5, running));
            expectRejected("beta", () -> ops.forwardTraining(in, new Affine(null, new float[5]), 1e-5, running));
            expectRejected("eps", () -> ops.forwardTraining(in, Affine.NONE, -1e-5, running));
            expectRejected("eps", () -> ops.forwardTraining(in, Affine.NONE, Double.NaN, running));
            expectRejected("running mean", () -> ops.forwardTraining(in, new Affine(rm, null), 1e-5, running));
            expectRejected("running variance", () -> ops.forwardTraining(in, new Affine(null, rv), 1e-5, running));
            expectRejected("more than 1 value per channel",
                    () -> ops.forwardTraining(Tensor.of(values(4, 15), 1, 4, 1, 1).in(layout), Affine.NONE, 1e-5,
                            running));
            assertArrayEquals(rmBits, bits(rm), layout + ": running mean written by a rejected call");
            assertArrayEquals(rvBits, bits(rv), layout + ": running variance written by a rejected call");
        }
        expectRejected("x must not be null", () -> ops.forwardTraining(null, Affine.NONE, 1e-5, running));
        expectRejected("running mean", () -> ops.forwardTraining(x, Affine.NONE, 1e-5,
                RunningStats.pytorch(new float[3], new float[3], 0.1)));
        assertArrayEquals(rmBits, bits(rm));
        assertArrayEquals(rvBits, bits(rv));
        // The check can fail: the same call with valid arguments moves both.
        ops.forwardTraining(x, Affine.NONE, 1e-5, running);
        assertFalse(Arrays.equals(rmBits, bits(rm)), "an accepted call moves the running mean");
        assertFalse(Arrays.equals(rvBits, bits(rv)), "an accepted call moves the running variance");

        expectRejected("affine", () -> ops.forwardTraining(x, null, 1e-5, null));
        expectRejected("statistics must not be null", () -> ops.forwardInference(x, Affine.NONE, null, 1e-5));
        Tensor nhwc = x.in(Layout.CHANNELS_LAST);
        expectRejected("channels-first", () -> LayerNormOps.get().forward(nhwc, -1, Affine.NONE, 1e-5));
        expectRejected("channels-first", () -> RMSNormOps.get().forward(nhwc, -1, null, 1e-5));
        expectRejected("groups", () -> GroupNormOps.get().forward(x, 3, Affine.NONE, 1e-5));
        expectRejected("groups", () -> GroupNormOps.get().forward(x, 0, Affine.NONE, 1e-5));
    }

    @Test
    void familyTensorBackwardsRejectWhatDoesNotFitNamingTheArgument() {
        Tensor x = Tensor.of(values(SIZE, 16), DIMS);
        Tensor dy = Tensor.of(values(SIZE, 17), DIMS);
        Tensor nhwcX = x.in(Layout.CHANNELS_LAST);
        Tensor nhwcDy = dy.in(Layout.CHANNELS_LAST);
        Tensor flatDy = Tensor.of(dy.data(), 3, 4, 30);

        GroupNormOps group = GroupNormOps.get();
        SavedStatistics gs = group.forward(x, 2, Affine.NONE, 1e-5).saved();
        // GroupNorm is gaining channels-last tensors: only a layout mismatch between x and dy is checked here.
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_FIRST", () -> group.backward(dy, nhwcX, 2, null, gs));
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_LAST", () -> group.backward(nhwcDy, x, 2, null, gs));
        expectRejected("dy has shape [3, 4, 30]", () -> group.backward(flatDy, x, 2, null, gs));
        expectRejected("dy must not be null", () -> group.backward(null, x, 2, null, gs));
        expectRejected("x must not be null", () -> group.backward(dy, null, 2, null, gs));
        expectRejected("saved must not be null", () -> group.backward(dy, x, 2, null, null));
        expectRejected("saveMean must not be null",
                () -> group.backward(dy, x, 2, null, new SavedStatistics(null, gs.invStd())));
        expectRejected("saveInvStd must not be null",
                () -> group.backward(dy, x, 2, null, new SavedStatistics(gs.mean(), null)));
        expectRejected("x must not be null", () -> group.forward(null, 2, Affine.NONE, 1e-5));
        expectRejected("affine", () -> group.forward(x, 2, null, 1e-5));

        LayerNormOps layer = LayerNormOps.get();
        SavedStatistics ls = layer.forward(x, -1, Affine.NONE, 1e-5).saved();
        expectRejected("LayerNorm takes channels-first", () -> layer.backward(nhwcDy, nhwcX, -1, null, ls));
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_LAST", () -> layer.backward(nhwcDy, x, -1, null, ls));
        expectRejected("dy has shape [3, 4, 30]", () -> layer.backward(flatDy, x, -1, null, ls));
        expectRejected("dy must not be null", () -> layer.backward(null, x, -1, null, ls));
        expectRejected("x must not be null", () -> layer.backward(dy, null, -1, null, ls));
        expectRejected("saved must not be null", () -> layer.backward(dy, x, -1, null, null));
        expectRejected("saveMean must not be null",
                () -> layer.backward(dy, x, -1, null, new SavedStatistics(null, ls.invStd())));
        expectRejected("saveInvStd must not be null",
                () -> layer.backward(dy, x, -1, null, new SavedStatistics(ls.mean(), null)));
        expectRejected("x must not be null", () -> layer.forward(null, -1, Affine.NONE, 1e-5));
        expectRejected("affine", () -> layer.forward(x, -1, null, 1e-5));

        RMSNormOps rms = RMSNormOps.get();
        SavedStatistics rs = rms.forward(x, -1, null, 1e-5).saved();
        expectRejected("RMSNorm takes channels-first", () -> rms.backward(nhwcDy, nhwcX, -1, null, rs));
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_LAST", () -> rms.backward(nhwcDy, x, -1, null, rs));
        expectRejected("dy has shape [3, 4, 30]", () -> rms.backward(flatDy, x, -1, null, rs));
        expectRejected("dy must not be null", () -> rms.backward(null, x, -1, null, rs));
        expectRejected("x must not be null", () -> rms.backward(dy, null, -1, null, rs));
        expectRejected("saved must not be null", () -> rms.backward(dy, x, -1, null, null));
        expectRejected("saveInvRms must not be null",
                () -> rms.backward(dy, x, -1, null, new SavedStatistics(null, null)));
        expectRejected("x must not be null", () -> rms.forward(null, -1, null, 1e-5));

        BatchNormOps batch = BatchNormOps.get();
        MeanVariance statistics = new MeanVariance(values(4, 18), new float[] {1f, 2f, 0.5f, 3f});
        expectRejected("statistics must not be null", () -> batch.backwardFrozen(dy, x, null, null, 1e-5));
        expectRejected("dy has shape [3, 4, 30]", () -> batch.backwardFrozen(flatDy, x, null, statistics, 1e-5));
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_LAST",
                () -> batch.backwardFrozen(nhwcDy, x, null, statistics, 1e-5));
        expectRejected("dy has shape [3, 4, 5, 6] CHANNELS_FIRST",
                () -> batch.backwardFrozen(dy, nhwcX, null, statistics, 1e-5));
        expectRejected("dy must not be null", () -> batch.backwardFrozen(null, x, null, statistics, 1e-5));
        expectRejected("x must not be null", () -> batch.backwardFrozen(dy, null, null, statistics, 1e-5));
        expectRejected("mean must not be null", () -> batch.backwardFrozen(dy, x, null,
                new MeanVariance(null, statistics.variance()), 1e-5));
        expectRejected("variance must not be null", () -> batch.backwardFrozen(dy, x, null,
                new MeanVariance(statistics.mean(), null), 1e-5));
        expectRejected("eps", () -> batch.backwardFrozen(dy, x, null, statistics, -1));
        // The same calls with fitting arguments go through.
        assertEquals(SIZE, group.backward(dy, x, 2, null, gs).dx().size());
        assertEquals(SIZE, layer.backward(dy, x, -1, null, ls).dx().size());
        assertEquals(SIZE, rms.backward(dy, x, -1, null, rs).dx().size());
        assertEquals(SIZE, batch.backwardFrozen(nhwcDy, nhwcX, null, statistics, 1e-5).dx().size());
    }

    @Test
    void zerosLikeAndToArrayAreCopies() {
        float[] data = padded(4, 19);
        Tensor t = Tensor.of(data, DIMS).at(4).in(Layout.CHANNELS_LAST);
        float[] copy = t.toArray();
        assertArrayEquals(Arrays.copyOfRange(data, 4, 4 + SIZE), copy, "toArray: the tensor's own elements");
        copy[0] = 1234f;
        assertEquals(data[4], t.toArray()[0], 0f);
        assertTrue(data[4] != 1234f, "writing the copy leaves the array alone");
        float[] before = data.clone();
        t.toArray()[SIZE - 1] = 42f;
        assertArrayEquals(before, data);

        // A tensor that covers its whole array: toArray is still a copy, not the array.
        float[] whole = values(SIZE, 20);
        float[] wholeBefore = whole.clone();
        Tensor all = Tensor.of(whole, DIMS);
        float[] allCopy = all.toArray();
        assertTrue(allCopy != whole, "toArray of a whole-array tensor is not the array itself");
        assertArrayEquals(wholeBefore, allCopy);
        allCopy[5] = 1234f;
        assertArrayEquals(wholeBefore, whole);

        Tensor z = t.zerosLike();
        assertTrue(z.data() != data, "zerosLike has an array of its own");
        assertEquals(0, z.offset());
        assertEquals(SIZE, z.data().length);
        assertArrayEquals(DIMS, z.shape());
        assertEquals(Layout.CHANNELS_LAST, z.layout());
        assertArrayEquals(new float[SIZE], z.toArray());
        z.data()[0] = 7f;
        assertArrayEquals(before, data, "writing zerosLike's array leaves the original alone");
        assertArrayEquals(new float[SIZE], t.zerosLike().toArray(), "every call a new zero array");
    }
}
