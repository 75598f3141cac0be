package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** The MemorySegment overloads give bitwise the array API's results, at any alignment and long offsets. */
class SegmentApiTest {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** The last is above the parallel threshold, so that the pooled variant runs its tiles on workers. */
    private static final int[][] SHAPES = {{3, 5, 21}, {300, 70}, {4, 3, 7, 7}, {16, 2, 150, 150}, {2, 3, 1, 4, 5},
        {32, 7, 96, 96}};

    /** All outputs of the four operations through the array API. */
    private static float[] viaArrays(BatchNormOps ops, int[] dims, float[] x, float[] dy) {
        NcsShape sh = NcsShape.of(dims);
        int c = sh.c();
        float[] gamma = Distribution.uniform(c, 0.5f, 2f, 5);
        float[] beta = Distribution.uniform(c, -1f, 1f, 6);
        float[] y = new float[sh.size()];
        float[] mean = new float[c];
        float[] invStd = new float[c];
        float[] runMean = new float[c];
        float[] runVar = new float[c];
        ops.forwardTraining(dims, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, RunningStats.pytorch(runMean, runVar,
                0.1));
        float[] yEval = new float[sh.size()];
        ops.forwardInference(dims, x, 0, yEval, 0, gamma, beta, runMean, runVar, 1e-5);
        float[] dx = new float[sh.size()];
        float[] dgamma = new float[c];
        float[] dbeta = new float[c];
        ops.backward(dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        float[] dxFrozen = new float[sh.size()];
        float[] dgammaFrozen = new float[c];
        float[] dbetaFrozen = new float[c];
        ops.backwardFrozen(dims, dy, 0, x, 0, gamma, runMean, runVar, 1e-5, dxFrozen, 0, dgammaFrozen, dbetaFrozen);
        return concat(y, mean, invStd, runMean, runVar, yEval, dx, dgamma, dbeta, dxFrozen, dgammaFrozen, dbetaFrozen);
    }

    /** The same through the segment API, with every tensor at {@code offset} floats in {@code memory}. */
    private static float[] viaSegments(BatchNormOps ops, int[] dims, float[] x, float[] dy, MemorySegment memory,
            long offset) {
        NcsShape sh = NcsShape.of(dims);
        int c = sh.c();
        long size = sh.size();
        float[] gamma = Distribution.uniform(c, 0.5f, 2f, 5);
        float[] beta = Distribution.uniform(c, -1f, 1f, 6);
        // Five tensors side by side: x, dy, y, yEval, dx, dxFrozen.
        long xAt = offset;
        long dyAt = offset + size;
        long yAt = offset + 2 * size;
        long yEvalAt = offset + 3 * size;
        long dxAt = offset + 4 * size;
        long dxFrozenAt = offset + 5 * size;
        MemorySegment.copy(x, 0, memory, FLOAT, xAt * 4, x.length);
        MemorySegment.copy(dy, 0, memory, FLOAT, dyAt * 4, dy.length);
        float[] mean = new float[c];
        float[] invStd = new float[c];
        float[] runMean = new float[c];
        float[] runVar = new float[c];
        ops.forwardTraining(dims, memory, xAt, memory, yAt, gamma, beta, 1e-5, mean, invStd,
                RunningStats.pytorch(runMean, runVar, 0.1));
        ops.forwardInference(dims, memory, xAt, memory, yEvalAt, gamma, beta, runMean, runVar, 1e-5);
        float[] dgamma = new float[c];
        float[] dbeta = new float[c];
        ops.backward(dims, memory, dyAt, memory, xAt, gamma, mean, invStd, memory, dxAt, dgamma, dbeta);
        float[] dgammaFrozen = new float[c];
        float[] dbetaFrozen = new float[c];
        ops.backwardFrozen(dims, memory, dyAt, memory, xAt, gamma, runMean, runVar, 1e-5, memory, dxFrozenAt,
                dgammaFrozen, dbetaFrozen);
        return concat(read(memory, yAt, size), mean, invStd, runMean, runVar, read(memory, yEvalAt, size),
                read(memory, dxAt, size), dgamma, dbeta, read(memory, dxFrozenAt, size), dgammaFrozen, dbetaFrozen);
    }

    private static float[] read(MemorySegment memory, long at, long size) {
        float[] out = new float[(int) size];
        MemorySegment.copy(memory, FLOAT, at * 4, out, 0, out.length);
        return out;
    }

    private static float[] concat(float[]... parts) {
        int length = 0;
        for (float[] p : parts) {
            length += p.length;
        }
        float[] all = new float[length];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void bitwiseTheArrayResultsOnHeapAndNativeSegmentsAtAnyAlignment() {
        List<BatchNormOps> variants = new ArrayList<>(List.of(BatchNormOps.using(Backend.scalarReference())));
        Kernels.vector().ifPresent(k -> variants.add(BatchNormOps.using(TestBackends.of(k))));
        ForkJoinPool pool = new ForkJoinPool(3);
        try {
            Kernels.vector().ifPresent(k -> variants.add(BatchNormOps.using(TestBackends.of(k)).parallel(pool)));
            for (int[] dims : SHAPES) {
                NcsShape sh = NcsShape.of(dims);
                float[] x = Distribution.MIXTURE.tensor(sh, 1);
                float[] dy = Distribution.NORMAL.tensor(sh, 2);
                for (BatchNormOps ops : variants) {
                    float[] expected = viaArrays(ops, dims, x, dy);
                    String tag = ops.backend().name() + " " + java.util.Arrays.toString(dims);
                    // float[]: the array path itself; byte[] and a float[] cut mid-float: through copies.
                    float[] heap = new float[7 + 6 * sh.size()];
                    assertArrayEquals(expected, viaSegments(ops, dims, x, dy, MemorySegment.ofArray(heap), 7),
                            tag + " heap float[]");
                    byte[] bytes = new byte[4 * (6 * sh.size() + 1)];
                    assertArrayEquals(expected, viaSegments(ops, dims, x, dy, MemorySegment.ofArray(bytes), 1),
                            tag + " heap byte[]");
                    MemorySegment midFloat = MemorySegment.ofArray(new float[6 * sh.size() + 1]).asSlice(2);
                    assertArrayEquals(expected, viaSegments(ops, dims, x, dy, midFloat, 0), tag + " heap float[]+2");
                    // A confined segment keeps the call on this thread; a shared one may use the pool.
                    for (Arena arena : new Arena[] {Arena.ofConfined(), Arena.ofShared()}) {
                        try (arena) {
                            MemorySegment memory = arena.allocate(4L * (6 * sh.size() + 2), 64);
                            // Float-aligned: the direct vector path (odd float offset: not vector-aligned).
                            assertArrayEquals(expected, viaSegments(ops, dims, x, dy, memory, 1),
                                    tag + " native");
                            // One byte past an aligned address: every float is misaligned, copied.
                            assertArrayEquals(expected, viaSegments(ops, dims, x, dy, memory.asSlice(1), 0),
                                    tag + " native+1");
                        }
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void inPlaceOnASegment() {
        int[] dims = {8, 4, 33};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 3);
        float[] expected = new float[sh.size()];
        BatchNormOps.get().forwardTraining(dims, x, 0, expected, 0, null, null, 1e-5, null, null, null);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * sh.size());
            MemorySegment.copy(x, 0, seg, FLOAT, 0, x.length);
            BatchNormOps.get().forwardTraining(dims, seg, 0, seg, 0, null, null, 1e-5, null, null, null);
            assertArrayEquals(expected, read(seg, 0, sh.size()));
        }
    }

    @Test
    void vectorKernelsReadAlignedSegmentsDirectlyAndCopyMisalignedOnes() {
        BatchNormKernels vector = Kernels.vector().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(vector != null, "needs jdk.incubator.vector");
        TileScheduler onCaller = new TileScheduler(null);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(4096, 64);
            assertTrue(new SegmentPasses(onCaller, vector, 2, 3, 4, memory, memory.asSlice(4)).direct());
            assertTrue(!new SegmentPasses(onCaller, vector, 2, 3, 4, memory, memory.asSlice(2)).direct());
            assertTrue(!new SegmentPasses(onCaller, Kernels.scalar(), 2, 3, 4, memory).direct());
        }
        float[] array = new float[8];
        assertEquals(array, SegmentPasses.backingArray(MemorySegment.ofArray(array).asSlice(8)));
        assertEquals(2 + 5, SegmentPasses.arrayOffset(MemorySegment.ofArray(array).asSlice(8), 5));
        assertEquals(null, SegmentPasses.backingArray(MemorySegment.ofArray(array).asSlice(2)));
        assertEquals(null, SegmentPasses.backingArray(MemorySegment.ofArray(new byte[8])));
    }

    @Test
    void backwardInPlaceOnAnAlignedSegment() {
        // Above the parallel threshold with a tile per channel: dx overwrites dy tile by tile.
        int[] dims = {32, 6, 100, 100};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 8);
        float[] dy = Distribution.NORMAL.tensor(sh, 9);
        float[] mean = new float[sh.c()];
        float[] invStd = new float[sh.c()];
        BatchNormOps ops = BatchNormOps.get();
        ops.forwardTraining(dims, x, 0, new float[sh.size()], 0, null, null, 1e-5, mean, invStd, null);
        float[] expected = dy.clone();
        float[] dgamma = new float[sh.c()];
        ops.backward(dims, expected, 0, x, 0, null, mean, invStd, expected, 0, dgamma, null);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dySeg = arena.allocate(4L * sh.size(), 64);
            MemorySegment xSeg = arena.allocate(4L * sh.size(), 64);
            MemorySegment.copy(dy, 0, dySeg, FLOAT, 0, dy.length);
            MemorySegment.copy(x, 0, xSeg, FLOAT, 0, x.length);
            float[] dgammaSeg = new float[sh.c()];
            ops.backward(dims, dySeg, 0, xSeg, 0, null, mean, invStd, dySeg, 0, dgammaSeg, null);
            assertArrayEquals(expected, read(dySeg, 0, sh.size()));
            assertArrayEquals(dgamma, dgammaSeg);
        }
    }

    /**
     * Element offsets beyond 2^31 in a sparse file mapping: only the pages the tensors touch are ever written,
     * so the index arithmetic is tested without 8 GiB of memory.
     */
    @Test
    void offsetsBeyondTwoToThe31(@TempDir Path dir) throws IOException {
        long offset = (1L << 31) + 12345;
        int[] dims = {4, 3, 10, 11};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.UNIFORM.tensor(sh, 4);
        float[] dy = Distribution.NORMAL.tensor(sh, 5);
        BatchNormOps ops = BatchNormOps.get();
        float[] expected = viaArrays(ops, dims, x, dy);
        try (FileChannel file = FileChannel.open(dir.resolve("sparse"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.SPARSE);
                Arena arena = Arena.ofConfined()) {
            long bytes = 4 * (offset + 6L * sh.size());
            MemorySegment memory = file.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            assertArrayEquals(expected, viaSegments(ops, dims, x, dy, memory, offset));
        } finally {
            Files.deleteIfExists(dir.resolve("sparse"));
        }
    }

    @Test
    void badSegmentsAreRejectedBeforeAnyWrite() {
        int[] dims = {2, 3, 4};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * 60);
            seg.fill((byte) 7);
            MemorySegment readOnly = seg.asReadOnly();
            float[] mean = new float[3];
            BatchNormOps ops = BatchNormOps.get();
            List<Executable> calls = List.of(
                    () -> ops.forwardTraining(dims, seg, 0, readOnly, 30, null, null, 1e-5, mean, null, null),
                    () -> ops.forwardTraining(dims, seg, 0, seg, 1, null, null, 1e-5, mean, null, null),
                    () -> ops.forwardTraining(dims, seg, 40, seg, 0, null, null, 1e-5, mean, null, null),
                    () -> ops.forwardTraining(dims, seg, -1, seg, 30, null, null, 1e-5, mean, null, null),
                    () -> ops.forwardTraining(dims, null, 0, seg, 30, null, null, 1e-5, mean, null, null),
                    () -> ops.forwardInference(dims, seg, 0, seg, 30, null, null, mean, new float[2], 1e-5),
                    () -> ops.backward(dims, seg, 0, seg, 24, null, mean, mean.clone(), seg, 12, null, null),
                    () -> ops.forwardTraining(new int[] {1, 3}, seg, 0, seg, 30, null, null, 1e-5, mean, null, null));
            String[] fragments = {"read-only", "overlaps x", "runs past", "offset must be >= 0", "x must not be null",
                "variance", "dx", "more than 1 value"};
            for (int i = 0; i < calls.size(); i++) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, calls.get(i));
                assertTrue(e.getMessage().contains(fragments[i]), e.getMessage());
                for (long b = 0; b < seg.byteSize(); b++) {
                    assertEquals(7, seg.get(ValueLayout.JAVA_BYTE, b), "written before rejecting: " + e.getMessage());
                }
                assertEquals(0f, mean[0]);
            }
        }
    }
}
