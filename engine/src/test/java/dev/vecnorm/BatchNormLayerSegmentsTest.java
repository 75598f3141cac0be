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
                MemorySegment dxs = arena.allocate((SIZE + 2L) * Float.BYTES, Float.BYTES);
                float[] dWeight = new float[3];
                float[] dBias = new float[3];
                segments.backward(dys, 0, dxs, 2, dWeight, dBias);
                assertArrayEquals(g.dx(), read(dxs, 2), "dx, training " + training);
                assertArrayEquals(g.dWeight(), dWeight);
                assertArrayEquals(g.dBias(), dBias);

                // The input in a segment, the gradients in arrays; and accumulation on segments.
                float[] dx = new float[SIZE];
                segments.backward(dy, 0, dx, 0, dWeight, dBias);
                assertArrayEquals(g.dx(), dx);
                segments.backwardAccumulate(dys, 0, dxs, 2);
                assertArrayEquals(g.dWeight(), segments.parameters().get(0).grad());
                assertArrayEquals(g.dBias(), segments.parameters().get(1).grad());
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
