package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The layer on MemorySegments: bitwise the array layer, with arrays and segments mixed between the calls. */
class BatchNormLayerSegmentsTest {

    private static final int[] DIMS = {4, 3, 5, 7};
    private static final int SIZE = 4 * 3 * 5 * 7;

    private static BatchNorm layer() {
        BatchNorm bn = new BatchNorm(3);
        bn.setWeight(new float[] {2f, -0.5f, 1.5f});
        bn.setBias(new float[] {0.1f, 0.2f, -0.3f});
        return bn;
    }

    /** {@code values} copied into a native segment at float offset {@code offset}. */
    private static MemorySegment nativeCopy(Arena arena, float[] values, long offset) {
        MemorySegment s = arena.allocate((offset + values.length + 3) * Float.BYTES, Float.BYTES);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, offset * Float.BYTES, values.length);
        return s;
    }

    private static float[] read(MemorySegment s, long offset) {
        float[] out = new float[SIZE];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, offset * Float.BYTES, out, 0, SIZE);
        return out;
    }

    private static float[] nans(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, Float.NaN);
        return a;
    }

    private static void fillNaN(MemorySegment s) {
        for (long i = 0; i < s.byteSize() / Float.BYTES; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.NaN);
        }
    }

    /** A native segment of {@code floats} NaNs: an output the call must overwrite everywhere it should. */
    private static MemorySegment nanSegment(Arena arena, long floats) {
        MemorySegment s = arena.allocate(floats * Float.BYTES, Float.BYTES);
        fillNaN(s);
        return s;
    }

    /** The floats before {@code offset} are still NaN: nothing was written in front of the tensor. */
    private static void assertUntouchedBefore(MemorySegment s, long offset) {
        for (long i = 0; i < offset; i++) {
            assertTrue(Float.isNaN(s.getAtIndex(ValueLayout.JAVA_FLOAT, i)), "wrote before the offset at " + i);
        }
    }

    @Test
    void trainingAndEvalOnSegmentsAreTheArrayLayerBitwise() {
        float[] x = Distribution.HEAVY_TAILS.tensor(NcsShape.of(DIMS), 1);
        float[] dy = Distribution.NORMAL.tensor(NcsShape.of(DIMS), 2);
        for (boolean training : new boolean[] {true, false}) {
            BatchNorm arrays = layer();
            BatchNorm segments = layer();
            if (!training) {
                arrays.setRunningMean(new float[] {0.5f, -1f, 2f});
                segments.setRunningMean(new float[] {0.5f, -1f, 2f});
                arrays.eval();
                segments.eval();
            }
            float[] y = arrays.forward(DIMS, x);
            BatchNorm.Gradients g = arrays.backward(dy);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment xs = nativeCopy(arena, x, 3);
                MemorySegment ys = arena.allocate((SIZE + 1L) * Float.BYTES, Float.BYTES);
                segments.forward(DIMS, xs, 3, ys, 1);
                assertArrayEquals(y, read(ys, 1), "y, training " + training);
                assertArrayEquals(arrays.runningMean(), segments.runningMean());
                assertArrayEquals(arrays.runningVar(), segments.runningVar());
                assertEquals(arrays.numBatchesTracked(), segments.numBatchesTracked());

                MemorySegment dys = nativeCopy(arena, dy, 0);
                MemorySegment dxs = nanSegment(arena, SIZE + 2L);
                float[] dWeight = nans(3);
                float[] dBias = nans(3);
                segments.backward(dys, 0, dxs, 2, dWeight, dBias);
                assertArrayEquals(g.dx(), read(dxs, 2), "dx, training " + training);
                assertArrayEquals(g.dWeight(), dWeight);
                assertArrayEquals(g.dBias(), dBias);
                assertUntouchedBefore(dxs, 2);

                // The input in a segment, the gradients in arrays: every output overwritten.
                float[] dx = nans(SIZE);
                java.util.Arrays.fill(dWeight, Float.NaN);
                java.util.Arrays.fill(dBias, Float.NaN);
                segments.backward(dy, 0, dx, 0, dWeight, dBias);
                assertArrayEquals(g.dx(), dx, "array dx after a segment forward, training " + training);
                assertArrayEquals(g.dWeight(), dWeight, "array dWeight after a segment forward");
                assertArrayEquals(g.dBias(), dBias, "array dBias after a segment forward");
                assertArrayEquals(new float[3], segments.parameters().get(0).grad(), "backward does not accumulate");

                // Accumulation on segments: dx overwritten each call, the parameters' grads summed.
                MemorySegment dxAcc = nanSegment(arena, SIZE + 2L);
                segments.backwardAccumulate(dys, 0, dxAcc, 2);
                assertArrayEquals(g.dx(), read(dxAcc, 2), "accumulated dx, training " + training);
                assertArrayEquals(g.dWeight(), segments.parameters().get(0).grad());
                assertArrayEquals(g.dBias(), segments.parameters().get(1).grad());
                fillNaN(dxAcc);
                segments.backwardAccumulate(dys, 0, dxAcc, 2);
                assertArrayEquals(g.dx(), read(dxAcc, 2), "dx of the second accumulate, training " + training);
                assertUntouchedBefore(dxAcc, 2);
                float[] twiceWeight = new float[3];
                float[] twiceBias = new float[3];
                for (int ch = 0; ch < 3; ch++) {
                    twiceWeight[ch] = 2 * g.dWeight()[ch];
                    twiceBias[ch] = 2 * g.dBias()[ch];
                }
                assertArrayEquals(twiceWeight, segments.parameters().get(0).grad(), "two calls' weight grads");
                assertArrayEquals(twiceBias, segments.parameters().get(1).grad(), "two calls' bias grads");
            }
        }
    }

    @Test
    void anArrayForwardCanBeFollowedByASegmentBackward() {
        float[] x = Distribution.NORMAL.tensor(NcsShape.of(DIMS), 3);
        float[] dy = Distribution.NORMAL.tensor(NcsShape.of(DIMS), 4);
        BatchNorm bn = layer();
        bn.forward(DIMS, x);
        BatchNorm.Gradients g = bn.backward(dy);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dxs = arena.allocate((long) SIZE * Float.BYTES, Float.BYTES);
            float[] dWeight = new float[3];
            bn.backward(nativeCopy(arena, dy, 0), 0, dxs, 0, dWeight, null);
            assertArrayEquals(g.dx(), read(dxs, 0));
            assertArrayEquals(g.dWeight(), dWeight);
        }
    }

    @Test
    void segmentsThatOverlapOrDoNotFitAreRefusedBeforeAnyChange() {
        float[] x = Distribution.NORMAL.tensor(NcsShape.of(DIMS), 5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = nativeCopy(arena, x, 0);
            BatchNorm bn = layer();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bn.forward(DIMS, xs, 0, xs, 2));
            assertTrue(e.getMessage().contains("overlaps x"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> bn.forward(DIMS, xs, 4, arena.allocate((long) SIZE * Float.BYTES), 0));
            assertTrue(e.getMessage().contains("x offset 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> bn.forward(DIMS, xs, 0, arena.allocate((long) SIZE * Float.BYTES).asReadOnly(), 0));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> bn.forward(new int[] {4, 2, 5, 7}, xs, 0, arena.allocate((long) SIZE * Float.BYTES), 0));
            assertTrue(e.getMessage().contains("expected 3 channels"), e.getMessage());
            assertEquals(0, bn.numBatchesTracked());
            assertArrayEquals(new float[3], bn.runningMean());
            assertThrows(IllegalStateException.class,
                    () -> bn.backward(xs, 0, arena.allocate((long) SIZE * Float.BYTES), 0, null, null),
                    "no forward has succeeded");

            // Eval mode in place: allowed, and then backward is refused (the input is gone).
            bn.eval();
            bn.forward(DIMS, xs, 0, xs, 0);
            IllegalStateException gone = assertThrows(IllegalStateException.class,
                    () -> bn.backward(xs, 0, arena.allocate((long) SIZE * Float.BYTES), 0, null, null));
            assertTrue(gone.getMessage().contains("in place"), gone.getMessage());
        }
    }

    @Test
    void anEmptyBatchInASegmentGivesZeroParameterGradients() {
        BatchNorm bn = layer();
        MemorySegment empty = MemorySegment.ofArray(new float[0]);
        bn.forward(new int[] {0, 3, 5, 7}, empty, 0, empty, 0);
        float[] dWeight = {1f, 1f, 1f};
        bn.backward(empty, 0, empty, 0, dWeight, null);
        assertArrayEquals(new float[3], dWeight);
        assertEquals(0, bn.numBatchesTracked());
    }
}
