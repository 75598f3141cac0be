package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.SegmentStorage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/**
 * LayerNorm and RMSNorm on MemorySegments give the bits of the array overloads, on every kind of segment
 * (native aligned or one byte off, heap over float[] or byte[], at offsets, in place), on shapes with one and
 * many forward blocks, several backward blocks and staged chunks, rows wider than a block, and over a pool; a
 * segment confined to the calling thread keeps the call there; bad segments are refused before any write.
 */
class RowSegmentsTest {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int[][] SHAPES = {{3, 5, 7}, {2, 3, 40, 50}, {1100, 500}, {3, 70000}, {600, 1}};
    private static final int[] AXES = {-1, 2, -1, 1, 1};

    private static int size(int[] shape) {
        return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    private static int rows(int[] shape, int axis) {
        int a = axis < 0 ? axis + shape.length : axis;
        int r = 1;
        for (int k = 0; k < a; k++) {
            r *= shape[k];
        }
        return r;
    }

    @Test
    void layerNormOnSegmentsIsTheArrayPathBitwise() {
        ForkJoinPool pool = new ForkJoinPool(3);
        try (Arena arena = Arena.ofShared()) {
            for (int t = 0; t < SHAPES.length; t++) {
                int[] shape = SHAPES[t];
                int axis = AXES[t];
                int n = size(shape);
                int r = rows(shape, axis);
                int d = n / r;
                float[] x = Distribution.MIXTURE.tensor(NcsShape.of(new int[] {1, r, d}), 10 + t);
                float[] dy = Distribution.NORMAL.tensor(NcsShape.of(new int[] {1, r, d}), 20 + t);
                float[] gamma = Distribution.uniform(d, 0.5f, 2f, 30 + t);
                float[] beta = Distribution.uniform(d, -1f, 1f, 40 + t);
                LayerNormOps arrays = LayerNormOps.get().singleThreaded();
                float[] y = new float[n];
                float[] mean = new float[r];
                float[] invStd = new float[r];
                arrays.forward(shape, axis, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                float[] dx = new float[n];
                float[] dgamma = new float[d];
                float[] dbeta = new float[d];
                arrays.backward(shape, axis, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                for (LayerNormOps ops : new LayerNormOps[] {arrays, LayerNormOps.get().parallel(pool)}) {
                    for (SegmentStorage storage : SegmentStorage.values()) {
                        String where = Arrays.toString(shape) + " axis " + axis + " " + storage;
                        MemorySegment xs = storage.place(arena, x, 3);
                        MemorySegment ys = storage.place(arena, new float[n], 5);
                        float[] gotMean = new float[r];
                        float[] gotInvStd = new float[r];
                        ops.forward(shape, axis, xs, 3, ys, 5, gamma, beta, 1e-5, gotMean, gotInvStd);
                        assertArrayEquals(y, SegmentStorage.read(ys, 5, n), where + " y");
                        assertArrayEquals(mean, gotMean, where + " mean");
                        assertArrayEquals(invStd, gotInvStd, where + " invStd");
                        assertTrue(Float.isNaN(ys.getAtIndex(FLOAT, 4)), where + ": wrote before y");

                        MemorySegment dys = storage.place(arena, dy, 1);
                        MemorySegment dxs = storage.place(arena, new float[n], 2);
                        float[] gotDgamma = new float[d];
                        float[] gotDbeta = new float[d];
                        ops.backward(shape, axis, dys, 1, xs, 3, gamma, mean, invStd, dxs, 2, gotDgamma, gotDbeta);
                        assertArrayEquals(dx, SegmentStorage.read(dxs, 2, n), where + " dx");
                        assertArrayEquals(dgamma, gotDgamma, where + " dgamma");
                        assertArrayEquals(dbeta, gotDbeta, where + " dbeta");

                        float[] onlyDgamma = new float[d];
                        ops.backward(shape, axis, dys, 1, xs, 3, gamma, mean, invStd, null, 0, onlyDgamma, null);
                        assertArrayEquals(dgamma, onlyDgamma, where + " dgamma without dx");

                        ops.forward(shape, axis, xs, 3, xs, 3, gamma, beta, 1e-5, null, null);
                        assertArrayEquals(y, SegmentStorage.read(xs, 3, n), where + " in place");
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void rmsNormOnSegmentsIsTheArrayPathBitwise() {
        ForkJoinPool pool = new ForkJoinPool(3);
        try (Arena arena = Arena.ofShared()) {
            for (int t = 0; t < SHAPES.length; t++) {
                int[] shape = SHAPES[t];
                int axis = AXES[t];
                int n = size(shape);
                int r = rows(shape, axis);
                int d = n / r;
                float[] x = Distribution.LARGE_OFFSET.tensor(NcsShape.of(new int[] {1, r, d}), 50 + t);
                float[] dy = Distribution.NORMAL.tensor(NcsShape.of(new int[] {1, r, d}), 60 + t);
                float[] gamma = Distribution.uniform(d, 0.5f, 2f, 70 + t);
                RMSNormOps arrays = RMSNormOps.get().singleThreaded();
                float[] y = new float[n];
                float[] invRms = new float[r];
                arrays.forward(shape, axis, x, 0, y, 0, gamma, 1e-6, invRms);
                float[] dx = new float[n];
                float[] dgamma = new float[d];
                arrays.backward(shape, axis, dy, 0, x, 0, gamma, invRms, dx, 0, dgamma);
                for (RMSNormOps ops : new RMSNormOps[] {arrays, RMSNormOps.get().parallel(pool)}) {
                    for (SegmentStorage storage : SegmentStorage.values()) {
                        String where = Arrays.toString(shape) + " axis " + axis + " " + storage;
                        MemorySegment xs = storage.place(arena, x, 4);
                        MemorySegment ys = storage.place(arena, new float[n], 0);
                        float[] gotInvRms = new float[r];
                        ops.forward(shape, axis, xs, 4, ys, 0, gamma, 1e-6, gotInvRms);
                        assertArrayEquals(y, SegmentStorage.read(ys, 0, n), where + " y");
                        assertArrayEquals(invRms, gotInvRms, where + " invRms");

                        MemorySegment dys = storage.place(arena, dy, 2);
                        MemorySegment dxs = storage.place(arena, new float[n], 7);
                        float[] gotDgamma = new float[d];
                        ops.backward(shape, axis, dys, 2, xs, 4, gamma, invRms, dxs, 7, gotDgamma);
                        assertArrayEquals(dx, SegmentStorage.read(dxs, 7, n), where + " dx");
                        assertArrayEquals(dgamma, gotDgamma, where + " dgamma");
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aConfinedSegmentKeepsALargeCallOnTheCallingThread() {
        // 2.2M elements: above the size at which the pool is used; a confined segment touched by a pool worker
        // would throw WrongThreadException.
        int[] shape = {1100, 2000};
        int n = size(shape);
        float[] x = Distribution.NORMAL.tensor(NcsShape.of(new int[] {1, 1100, 2000}), 7);
        float[] y = new float[n];
        LayerNormOps.get().singleThreaded().forward(shape, -1, x, 0, y, 0, null, null, 1e-5, null, null);
        ForkJoinPool pool = new ForkJoinPool(2);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = SegmentStorage.NATIVE.place(arena, x, 0);
            MemorySegment ys = arena.allocate((long) n * Float.BYTES, 64);
            LayerNormOps.get().parallel(pool).forward(shape, -1, xs, 0, ys, 0, null, null, 1e-5, null, null);
            assertArrayEquals(y, SegmentStorage.read(ys, 0, n));
            float[] invRms = new float[1100];
            RMSNormOps.get().parallel(pool).forward(shape, -1, xs, 0, ys, 0, null, 1e-5, invRms);
            float[] dgamma = new float[2000];
            RMSNormOps.get().parallel(pool).backward(shape, -1, xs, 0, xs, 0, null, invRms, ys, 0, dgamma);
            float[] wantInvRms = new float[1100];
            RMSNormOps.get().singleThreaded().forward(shape, -1, x, 0, new float[n], 0, null, 1e-5, wantInvRms);
            float[] wantDx = new float[n];
            float[] wantDgamma = new float[2000];
            RMSNormOps.get().singleThreaded().backward(shape, -1, x, 0, x, 0, null, wantInvRms, wantDx, 0,
                    wantDgamma);
            assertArrayEquals(wantInvRms, invRms, "invRms");
            assertArrayEquals(wantDx, SegmentStorage.read(ys, 0, n), "dx");
            assertArrayEquals(wantDgamma, dgamma, "dgamma");
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aLargeTensorOverAPoolGivesTheBitsOfOneThread() {
        // 2^21 elements: large enough that the pool takes the blocks (the small shapes above stay on the caller).
        int[] shape = {2048, 1024};
        int n = size(shape);
        NcsShape view = NcsShape.of(new int[] {1, 2048, 1024});
        float[] x = Distribution.MIXTURE.tensor(view, 3);
        float[] dy = Distribution.NORMAL.tensor(view, 4);
        float[] gamma = Distribution.uniform(1024, 0.5f, 2f, 5);
        float[] y = new float[n];
        float[] mean = new float[2048];
        float[] invStd = new float[2048];
        LayerNormOps.get().singleThreaded().forward(shape, -1, x, 0, y, 0, gamma, null, 1e-5, mean, invStd);
        float[] dx = new float[n];
        float[] dgamma = new float[1024];
        float[] dbeta = new float[1024];
        LayerNormOps.get().singleThreaded().backward(shape, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma,
                dbeta);
        ForkJoinPool pool = new ForkJoinPool(3);
        try (Arena arena = Arena.ofShared()) {
            LayerNormOps ops = LayerNormOps.get().parallel(pool);
            MemorySegment xs = SegmentStorage.NATIVE.place(arena, x, 0);
            MemorySegment ys = SegmentStorage.NATIVE.place(arena, new float[n], 0);
            float[] gotMean = new float[2048];
            float[] gotInvStd = new float[2048];
            ops.forward(shape, -1, xs, 0, ys, 0, gamma, null, 1e-5, gotMean, gotInvStd);
            assertArrayEquals(y, SegmentStorage.read(ys, 0, n), "y");
            assertArrayEquals(invStd, gotInvStd, "invStd");
            MemorySegment dys = SegmentStorage.NATIVE.place(arena, dy, 0);
            float[] gotDgamma = new float[1024];
            float[] gotDbeta = new float[1024];
            ops.backward(shape, -1, dys, 0, xs, 0, gamma, mean, invStd, ys, 0, gotDgamma, gotDbeta);
            assertArrayEquals(dx, SegmentStorage.read(ys, 0, n), "dx");
            assertArrayEquals(dgamma, gotDgamma, "dgamma");
            assertArrayEquals(dbeta, gotDbeta, "dbeta");
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void badSegmentsAreRefusedBeforeAnyWrite() {
        int[] shape = {4, 6};
        float[] saveMean = {-7f, -7f, -7f, -7f};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = SegmentStorage.NATIVE.place(arena, new float[24], 0);
            MemorySegment y = arena.allocate(24 * Float.BYTES, 64);
            y.fill((byte) 0x7f);
            LayerNormOps ops = LayerNormOps.get();
            expect("y is a read-only segment", () -> ops.forward(shape, -1, x, 0, y.asReadOnly(), 0, null, null,
                    1e-5, saveMean, null));
            expect("x offset 1 + size 24 runs past its 24 floats", () -> ops.forward(shape, -1, x, 1, y, 0, null,
                    null, 1e-5, saveMean, null));
            MemorySegment shared = arena.allocate(30 * Float.BYTES, 64);
            expect("y (offset 4, length 24) overlaps x", () -> ops.forward(shape, -1, shared, 0, shared, 4, null,
                    null, 1e-5, saveMean, null));
            expect("eps", () -> ops.forward(shape, -1, x, 0, y, 0, null, null, -1, saveMean, null));
            expect("gamma", () -> ops.forward(shape, -1, x, 0, y, 0, new float[5], null, 1e-5, saveMean, null));
            expect("x must not be null", () -> ops.forward(shape, -1, null, 0, y, 0, null, null, 1e-5, saveMean,
                    null));
            expect("dx (offset 0, length 24) overlaps dy", () -> ops.backward(shape, -1, y, 0, x, 0, null,
                    new float[4], new float[4], y, 0, new float[6], null));
            expect("dx (offset 0, length 24) overlaps x", () -> RMSNormOps.get().backward(shape, -1, y, 0, x, 0,
                    null, new float[4], x, 0, new float[6]));
            expect("saveInvRms", () -> RMSNormOps.get().backward(shape, -1, y, 0, x, 0, null,
                    new float[] {1f, Float.NaN, 1f, 1f}, null, 0, new float[6]));
            expect("y is a read-only segment", () -> RMSNormOps.get().forward(shape, -1, x, 0, y.asReadOnly(), 0,
                    null, 1e-5, saveMean));
            assertArrayEquals(new float[] {-7f, -7f, -7f, -7f}, saveMean, "saved statistics written");
            for (long i = 0; i < 24; i++) {
                assertEquals(0x7f7f7f7f, y.getAtIndex(ValueLayout.JAVA_INT, i), "y written at " + i);
            }
        }
    }

    @Test
    void segmentsMayHoldMoreRowsTimesWidthThanAnArrayButNotLongerRows() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RowNormalization.of(new int[] {65536, 65536}, -1));
        assertTrue(e.getMessage().contains("more than 2^31 - 1 elements (MemorySegments take more)"), e.getMessage());
        // The limits themselves are allowed: 2^31 - 1 rows, 2^31 - 1 elements in a row or in an array.
        assertEquals(Integer.MAX_VALUE, RowNormalization.ofSegments(new int[] {Integer.MAX_VALUE, 1}, 1).rows());
        assertEquals(Integer.MAX_VALUE, RowNormalization.ofSegments(new int[] {1, Integer.MAX_VALUE}, 1).width());
        assertEquals(Integer.MAX_VALUE, RowNormalization.of(new int[] {Integer.MAX_VALUE, 1}, -1).size());
        assertEquals((long) Integer.MAX_VALUE << 20,
                RowNormalization.ofSegments(new int[] {Integer.MAX_VALUE, 1 << 20}, 1).elements());
        // More floats than a segment's byte size can count.
        e = assertThrows(IllegalArgumentException.class,
                () -> RowNormalization.ofSegments(new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE}, 1));
        assertTrue(e.getMessage().endsWith("has more than " + Long.MAX_VALUE / 4 + " elements"), e.getMessage());
        RowNormalization big = RowNormalization.ofSegments(new int[] {65536, 65536}, -1);
        assertEquals(1L << 32, big.elements());
        e = assertThrows(IllegalArgumentException.class,
                () -> RowNormalization.ofSegments(new int[] {2, 65536, 65536}, 1));
        assertTrue(e.getMessage().contains("more than 2^31 - 1 elements per row"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> RowNormalization.ofSegments(new int[] {65536, 65536, 2}, 2));
        assertTrue(e.getMessage().contains("more than 2^31 - 1 rows"), e.getMessage());
        // Products that would wrap a long are still caught.
        e = assertThrows(IllegalArgumentException.class, () -> RowNormalization.ofSegments(
                new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, 3}, -1));
        assertTrue(e.getMessage().contains("rows"), e.getMessage());
    }

    private static void expect(String message, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }
}
