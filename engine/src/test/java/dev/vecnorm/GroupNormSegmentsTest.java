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
 * GroupNorm and InstanceNorm on MemorySegments give the bits of the array overloads in both layouts, on native
 * segments (aligned and one byte off) and heap segments over float[] and byte[], at offsets, in place, with and
 * without dx, on one thread and three; bad segments are refused before any write.
 */
class GroupNormSegmentsTest {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int[][] SHAPES = {{2, 6, 5, 7}, {3, 8, 10}, {2, 32, 9, 9}, {5, 4}, {2, 4, 3, 4, 5}};
    private static final int[] GROUPS = {3, 8, 4, 2, 1};

    @Test
    void segmentsGiveTheArrayPathBitsInBothLayouts() {
        ForkJoinPool pool = new ForkJoinPool(3);
        try (Arena arena = Arena.ofShared()) {
            for (int t = 0; t < SHAPES.length; t++) {
                int[] shape = SHAPES[t];
                int groups = GROUPS[t];
                NcsShape sh = NcsShape.of(shape);
                int n = sh.size();
                int c = sh.c();
                int ng = sh.n() * groups;
                float[] x = Distribution.MIXTURE.tensor(sh, 100 + t);
                float[] dy = Distribution.NORMAL.tensor(sh, 200 + t);
                float[] gamma = Distribution.uniform(c, 0.5f, 2f, 300 + t);
                float[] beta = Distribution.uniform(c, -1f, 1f, 400 + t);
                for (Layout layout : Layout.values()) {
                    GroupNormOps arrays = GroupNormOps.get().singleThreaded();
                    float[] y = new float[n];
                    float[] mean = new float[ng];
                    float[] invStd = new float[ng];
                    arrays.forward(layout, shape, groups, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                    float[] dx = new float[n];
                    float[] dgamma = new float[c];
                    float[] dbeta = new float[c];
                    arrays.backward(layout, shape, groups, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                    for (GroupNormOps ops : new GroupNormOps[] {arrays, GroupNormOps.get().parallel(pool)}) {
                        for (SegmentStorage storage : SegmentStorage.values()) {
                            String where = Arrays.toString(shape) + " G=" + groups + " " + layout + " " + storage;
                            MemorySegment xs = storage.place(arena, x, 3);
                            MemorySegment ys = storage.place(arena, new float[n], 1);
                            float[] gotMean = new float[ng];
                            float[] gotInvStd = new float[ng];
                            ops.forward(layout, shape, groups, xs, 3, ys, 1, gamma, beta, 1e-5, gotMean, gotInvStd);
                            assertArrayEquals(y, SegmentStorage.read(ys, 1, n), where + " y");
                            assertArrayEquals(mean, gotMean, where + " mean");
                            assertArrayEquals(invStd, gotInvStd, where + " invStd");
                            assertTrue(Float.isNaN(ys.getAtIndex(FLOAT, 0)), where + ": wrote before y");

                            MemorySegment dys = storage.place(arena, dy, 2);
                            MemorySegment dxs = storage.place(arena, new float[n], 4);
                            float[] gotDgamma = new float[c];
                            float[] gotDbeta = new float[c];
                            ops.backward(layout, shape, groups, dys, 2, xs, 3, gamma, mean, invStd, dxs, 4, gotDgamma,
                                    gotDbeta);
                            assertArrayEquals(dx, SegmentStorage.read(dxs, 4, n), where + " dx");
                            assertArrayEquals(dgamma, gotDgamma, where + " dgamma");
                            assertArrayEquals(dbeta, gotDbeta, where + " dbeta");

                            float[] onlyDbeta = new float[c];
                            ops.backward(layout, shape, groups, dys, 2, xs, 3, gamma, mean, invStd, null, 0, null,
                                    onlyDbeta);
                            assertArrayEquals(dbeta, onlyDbeta, where + " dbeta without dx");

                            ops.backward(layout, shape, groups, dys, 2, xs, 3, gamma, mean, invStd, dys, 2, null,
                                    null);
                            assertArrayEquals(dx, SegmentStorage.read(dys, 2, n), where + " dx in place of dy");

                            ops.forward(layout, shape, groups, xs, 3, xs, 3, gamma, beta, 1e-5, null, null);
                            assertArrayEquals(y, SegmentStorage.read(xs, 3, n), where + " y in place");
                        }
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aLargeTensorOverAPoolGivesTheBitsOfOneThread() {
        // 2^21 elements in four samples, channels-last: the pool takes the samples.
        int[] shape = {4, 32, 128, 128};
        NcsShape sh = NcsShape.of(shape);
        float[] x = Distribution.MIXTURE.tensor(sh, 6);
        float[] dy = Distribution.NORMAL.tensor(sh, 7);
        float[] gamma = Distribution.uniform(32, 0.5f, 2f, 8);
        float[] beta = Distribution.uniform(32, -1f, 1f, 9);
        Layout cl = Layout.CHANNELS_LAST;
        float[] y = new float[sh.size()];
        float[] mean = new float[4 * 8];
        float[] invStd = new float[4 * 8];
        GroupNormOps one = GroupNormOps.get().singleThreaded();
        one.forward(cl, shape, 8, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
        float[] dx = new float[sh.size()];
        float[] dgamma = new float[32];
        float[] dbeta = new float[32];
        one.backward(cl, shape, 8, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        ForkJoinPool pool = new ForkJoinPool(3);
        try (Arena arena = Arena.ofShared()) {
            GroupNormOps ops = GroupNormOps.get().parallel(pool);
            MemorySegment xs = SegmentStorage.NATIVE.place(arena, x, 0);
            MemorySegment ys = SegmentStorage.NATIVE.place(arena, new float[sh.size()], 0);
            float[] gotMean = new float[4 * 8];
            float[] gotInvStd = new float[4 * 8];
            ops.forward(cl, shape, 8, xs, 0, ys, 0, gamma, beta, 1e-5, gotMean, gotInvStd);
            assertArrayEquals(y, SegmentStorage.read(ys, 0, sh.size()), "y");
            assertArrayEquals(mean, gotMean, "mean");
            MemorySegment dys = SegmentStorage.NATIVE.place(arena, dy, 0);
            float[] gotDgamma = new float[32];
            float[] gotDbeta = new float[32];
            ops.backward(cl, shape, 8, dys, 0, xs, 0, gamma, mean, invStd, ys, 0, gotDgamma, gotDbeta);
            assertArrayEquals(dx, SegmentStorage.read(ys, 0, sh.size()), "dx");
            assertArrayEquals(dgamma, gotDgamma, "dgamma");
            assertArrayEquals(dbeta, gotDbeta, "dbeta");
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aConfinedSegmentKeepsALargeCallOnTheCallingThread() {
        // 2^21 elements in two samples: large enough for the pool; a confined segment touched by a pool worker
        // would throw WrongThreadException.
        int[] shape = {2, 64, 128, 128};
        NcsShape sh = NcsShape.of(shape);
        float[] x = Distribution.NORMAL.tensor(sh, 5);
        float[] y = new float[sh.size()];
        float[] mean = new float[2 * 64];
        float[] invStd = new float[2 * 64];
        GroupNormOps.get().singleThreaded().forward(shape, 64, x, 0, y, 0, null, null, 1e-5, mean, invStd);
        float[] dx = new float[sh.size()];
        GroupNormOps.get().singleThreaded().backward(shape, 64, y, 0, x, 0, null, mean, invStd, dx, 0, null, null);
        ForkJoinPool pool = new ForkJoinPool(2);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = SegmentStorage.NATIVE.place(arena, x, 0);
            MemorySegment ys = SegmentStorage.NATIVE.place(arena, new float[sh.size()], 0);
            GroupNormOps ops = GroupNormOps.get().parallel(pool);
            ops.forward(Layout.CHANNELS_FIRST, shape, 64, xs, 0, ys, 0, null, null, 1e-5, null, null);
            assertArrayEquals(y, SegmentStorage.read(ys, 0, sh.size()));
            ops.backward(Layout.CHANNELS_FIRST, shape, 64, ys, 0, xs, 0, null, mean, invStd, ys, 0, null, null);
            assertArrayEquals(dx, SegmentStorage.read(ys, 0, sh.size()));
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void badSegmentsAreRefusedBeforeAnyWrite() {
        int[] shape = {2, 6, 4};
        float[] saveMean = new float[6];
        Arrays.fill(saveMean, -7f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = SegmentStorage.NATIVE.place(arena, new float[48], 0);
            MemorySegment y = arena.allocate(48 * Float.BYTES, 64);
            y.fill((byte) 0x7f);
            MemorySegment shared = arena.allocate(60 * Float.BYTES, 64);
            GroupNormOps ops = GroupNormOps.get();
            Layout cf = Layout.CHANNELS_FIRST;
            expect("groups must divide C = 6, got groups = 4", () -> ops.forward(cf, shape, 4, x, 0, y, 0, null,
                    null, 1e-5, null, null));
            expect("layout must not be null", () -> ops.forward(null, shape, 3, x, 0, y, 0, null, null, 1e-5,
                    saveMean, null));
            expect("y is a read-only segment", () -> ops.forward(cf, shape, 3, x, 0, y.asReadOnly(), 0, null, null,
                    1e-5, saveMean, null));
            expect("x offset 2 + size 48 runs past its 48 floats", () -> ops.forward(cf, shape, 3, x, 2, y, 0, null,
                    null, 1e-5, saveMean, null));
            expect("y (offset 5, length 48) overlaps x", () -> ops.forward(cf, shape, 3, shared, 0, shared, 5, null,
                    null, 1e-5, saveMean, null));
            expect("saveMean", () -> ops.forward(cf, shape, 3, x, 0, y, 0, null, null, 1e-5, new float[5], null));
            expect("eps", () -> ops.forward(cf, shape, 3, x, 0, y, 0, null, null, Double.NaN, saveMean, null));
            expect("dx (offset 1, length 48) overlaps dy", () -> ops.backward(cf, shape, 3, shared, 0, x, 0, null,
                    new float[6], new float[6], shared, 1, null, null));
            expect("dx is a read-only segment", () -> ops.backward(cf, shape, 3, x, 0, x, 0, null, new float[6],
                    new float[6], y.asReadOnly(), 0, null, null));
            expect("saveInvStd", () -> ops.backward(cf, shape, 3, x, 0, x, 0, null, new float[6],
                    new float[] {1f, 1f, -1f, 1f, 1f, 1f}, y, 0, null, null));
            assertArrayEquals(new float[] {-7f, -7f, -7f, -7f, -7f, -7f}, saveMean, "saved statistics written");
            for (long i = 0; i < 48; i++) {
                assertEquals(0x7f7f7f7f, y.getAtIndex(ValueLayout.JAVA_INT, i), "y written at " + i);
            }
        }
    }

    private static void expect(String message, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }
}
