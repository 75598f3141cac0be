package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * A call in steady state allocates nothing that grows with C or the number of slices: per-channel and per-slice
 * arrays come from the thread's workspace. (Bytes are counted on the calling thread by the JVM itself; a few
 * hundred bytes of task and lambda objects per call are allowed, a per-slice array of C doubles is not.)
 */
class SteadyStateAllocationTest {

    private static final int WARM_CALLS = 20;
    private static final int ROUNDS = 60;
    private static final int CALLS_PER_ROUND = 10;
    private static final long WARM_UP_NANOS = 20_000_000_000L;
    /** Well above the few small objects a call may make, well below the 8-16 KB of per-slice arrays. */
    private static final long MAX_BYTES_PER_CALL = 2048;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /**
     * The fewest bytes per call over rounds of calls, stopping at the first round within the bound: until C2
     * has compiled every kernel (a few hundred calls at some widths), interpreted and C1 code boxes vectors and
     * allocates, so early rounds see warm-up; an array that every call allocates shows in every round.
     */
    private static long bytesPerCall(Runnable call) {
        return bytesPerCall(call, MAX_BYTES_PER_CALL);
    }

    /** As above, stopping at the first round within {@code bound}. */
    private static long bytesPerCall(Runnable call, long bound) {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count a thread's allocated bytes");
        for (int i = 0; i < WARM_CALLS; i++) {
            call.run();
        }
        long id = Thread.currentThread().threadId();
        long fewest = Long.MAX_VALUE;
        // At least ROUNDS rounds and WARM_UP_NANOS: a loaded machine compiles later, and warm-up allocation
        // looks like the bug this test is for.
        long start = System.nanoTime();
        for (int r = 0; fewest > bound && (r < ROUNDS || System.nanoTime() - start < WARM_UP_NANOS);
                r++) {
            long before = THREADS.getThreadAllocatedBytes(id);
            for (int i = 0; i < CALLS_PER_ROUND; i++) {
                call.run();
            }
            fewest = Math.min(fewest, (THREADS.getThreadAllocatedBytes(id) - before) / CALLS_PER_ROUND);
        }
        return fewest;
    }

    private static float[] ramp(int size) {
        float[] a = new float[size];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i * 7919 % 1000) * 0.01f - 3f;
        }
        return a;
    }

    @Test
    void trainingCutIntoRowSlicesAllocatesNoPerSliceArrays() {
        // 256 samples of 512 channels of 4x4 (8 MiB): two slices of whole rows for the statistics.
        int[] shape = {256, 512, 4, 4};
        assertTrue(Tiling.sliced(Tiling.tiles(NcsShape.of(shape), 1), 256), "the shape must take the sliced path");
        int c = 512;
        float[] x = ramp(256 * 512 * 16);
        float[] y = new float[x.length];
        float[] gamma = new float[c];
        float[] beta = new float[c];
        java.util.Arrays.fill(gamma, 1f);
        float[] mean = new float[c];
        float[] invStd = new float[c];
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        long bytes = bytesPerCall(() -> ops.forwardTraining(shape, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null));
        assertTrue(bytes <= MAX_BYTES_PER_CALL, "training allocated " + bytes + " B per call");
    }

    /** A backward call's arrays: x and dy (ramps), dx, and per channel gamma = 1, zeros, ones, dgamma, dbeta. */
    private record BackwardArrays(float[] x, float[] dy, float[] dx, float[] gamma, float[] zeros, float[] ones,
            float[] dgamma, float[] dbeta) {
        static BackwardArrays of(int[] shape) {
            int c = shape[1];
            float[] x = ramp(NcsShape.of(shape).size());
            float[] ones = new float[c];
            java.util.Arrays.fill(ones, 1f);
            return new BackwardArrays(x, ramp(x.length), new float[x.length], ones.clone(), new float[c], ones,
                    new float[c], new float[c]);
        }
    }

    @Test
    void backwardCutIntoRowSlicesAllocatesNoPerSliceArrays() {
        // 256 samples of 256 channels of 4x4, dy and x together 8 MiB: two slices of whole rows for the sums.
        int[] shape = {256, 256, 4, 4};
        assertTrue(Tiling.sliced(Tiling.tiles(NcsShape.of(shape), 2), 256), "the shape must take the sliced path");
        BackwardArrays a = BackwardArrays.of(shape);
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        long bytes = bytesPerCall(() -> ops.backward(shape, a.dy(), 0, a.x(), 0, a.gamma(), a.zeros(), a.ones(),
                a.dx(), 0, a.dgamma(), a.dbeta()));
        assertTrue(bytes <= MAX_BYTES_PER_CALL, "backward allocated " + bytes + " B per call");
    }

    @Test
    void frozenBackwardAllocatesNothingPerChannel() {
        // 2048 channels: every per-channel array of the frozen backward would be 8-16 KB.
        int[] shape = {8, 2048, 4, 4};
        BackwardArrays a = BackwardArrays.of(shape);
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        long bytes = bytesPerCall(() -> ops.backwardFrozen(shape, a.dy(), 0, a.x(), 0, a.gamma(), a.zeros(),
                a.ones(), 1e-5, a.dx(), 0, a.dgamma(), a.dbeta()));
        assertTrue(bytes <= MAX_BYTES_PER_CALL, "frozen backward allocated " + bytes + " B per call");
    }

    /**
     * Issue 12's budget for the passes every layer runs (training, inference, backward at one thread, tensors
     * that need no slices): about 100 B per call. A lambda capturing a pass's arguments costs about 100 B by
     * itself (escape analysis can't remove it once the pool branch may take it), so these passes loop over their
     * tiles directly when they stay on the calling thread.
     */
    private static final long PASS_BUDGET_BYTES = 100;

    @Test
    void unslicedPassesAllocateAtMostAHundredBytesPerCall() {
        // First as a program that also runs large tensors on a pool does, so that the JIT has seen the pool
        // branch taken: a lambda handed to the scheduler then escapes and is allocated on every call.
        int[] large = {4, 64, 64, 128};
        BackwardArrays big = BackwardArrays.of(large);
        float[] bigMean = new float[64];
        float[] bigInvStd = new float[64];
        try (java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(2)) {
            BatchNormOps pooled = BatchNormOps.get().parallel(pool);
            for (int i = 0; i < 30; i++) {
                pooled.forwardTraining(large, big.x(), 0, big.dx(), 0, big.gamma(), big.zeros(), 1e-5, bigMean,
                        bigInvStd, null);
                pooled.forwardInference(large, big.x(), 0, big.dx(), 0, big.gamma(), big.zeros(), big.zeros(),
                        big.ones(), 1e-5);
                pooled.backward(large, big.dy(), 0, big.x(), 0, big.gamma(), bigMean, bigInvStd, big.dx(), 0,
                        big.dgamma(), big.dbeta());
            }
        }
        for (int[] shape : new int[][] {{256, 1024}, {8, 64, 16, 16}}) {
            assertTrue(!Tiling.sliced(Tiling.tiles(NcsShape.of(shape), 1), shape[0]), "must not be sliced");
            BackwardArrays a = BackwardArrays.of(shape);
            float[] mean = new float[shape[1]];
            float[] invStd = new float[shape[1]];
            BatchNormOps ops = BatchNormOps.get().singleThreaded();
            String name = java.util.Arrays.toString(shape);
            long training = bytesPerCall(() -> ops.forwardTraining(shape, a.x(), 0, a.dx(), 0, a.gamma(), a.zeros(),
                    1e-5, mean, invStd, null), PASS_BUDGET_BYTES);
            assertTrue(training <= PASS_BUDGET_BYTES, name + " training allocated " + training + " B per call");
            long inference = bytesPerCall(() -> ops.forwardInference(shape, a.x(), 0, a.dx(), 0, a.gamma(),
                    a.zeros(), a.zeros(), a.ones(), 1e-5), PASS_BUDGET_BYTES);
            assertTrue(inference <= PASS_BUDGET_BYTES, name + " inference allocated " + inference + " B per call");
            long backward = bytesPerCall(() -> ops.backward(shape, a.dy(), 0, a.x(), 0, a.gamma(), mean, invStd,
                    a.dx(), 0, a.dgamma(), a.dbeta()), PASS_BUDGET_BYTES);
            assertTrue(backward <= PASS_BUDGET_BYTES, name + " backward allocated " + backward + " B per call");
        }
    }

    /**
     * Channels cut along N (256x512x4x4: channels over the budget's slices; 256x6x24x24: row slices of few
     * channels) merge per-slice statistics and sums; counting the slices once took a stream, about 240 B per call.
     */
    @Test
    void slicedPassesAllocateAtMostAHundredBytesPerCall() {
        for (int[] shape : new int[][] {{256, 512, 4, 4}, {256, 6, 24, 24}}) {
            BackwardArrays a = BackwardArrays.of(shape);
            float[] mean = new float[shape[1]];
            float[] invStd = new float[shape[1]];
            BatchNormOps ops = BatchNormOps.get().singleThreaded();
            String name = java.util.Arrays.toString(shape);
            assertTrue(Tiling.sliced(Tiling.tiles(NcsShape.of(shape), 2), shape[0]), name + " must be sliced");
            long backward = bytesPerCall(() -> ops.backward(shape, a.dy(), 0, a.x(), 0, a.gamma(), mean, invStd,
                    a.dx(), 0, a.dgamma(), a.dbeta()), PASS_BUDGET_BYTES);
            assertTrue(backward <= PASS_BUDGET_BYTES, name + " backward allocated " + backward + " B per call");
            if (Tiling.sliced(Tiling.tiles(NcsShape.of(shape), 1), shape[0])) {
                long training = bytesPerCall(() -> ops.forwardTraining(shape, a.x(), 0, a.dx(), 0, a.gamma(),
                        a.zeros(), 1e-5, mean, invStd, null), PASS_BUDGET_BYTES);
                assertTrue(training <= PASS_BUDGET_BYTES, name + " training allocated " + training + " B per call");
            }
        }
    }

    /** A native segment holding a copy of {@code values}. */
    private static MemorySegment nativeCopy(Arena arena, float[] values) {
        MemorySegment segment = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return segment;
    }

    @Test
    void segmentTrainingInferenceAndBackwardAllocateNothingPerChannel() {
        // Off-heap tensors with 2048 channels: every per-channel array would be 8-16 KB per call.
        int[] shape = {8, 2048, 4, 4};
        BackwardArrays a = BackwardArrays.of(shape);
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        float[] mean = new float[2048];
        float[] invStd = new float[2048];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = nativeCopy(arena, a.x());
            MemorySegment dy = nativeCopy(arena, a.dy());
            MemorySegment out = arena.allocate((long) a.x().length * Float.BYTES, 64);
            long training = bytesPerCall(() -> ops.forwardTraining(shape, x, 0, out, 0, a.gamma(), a.zeros(), 1e-5,
                    mean, invStd, null));
            assertTrue(training <= MAX_BYTES_PER_CALL, "segment training allocated " + training + " B per call");
            long inference = bytesPerCall(() -> ops.forwardInference(shape, x, 0, out, 0, a.gamma(), a.zeros(),
                    a.zeros(), a.ones(), 1e-5));
            assertTrue(inference <= MAX_BYTES_PER_CALL, "segment inference allocated " + inference + " B per call");
            long backward = bytesPerCall(() -> ops.backward(shape, dy, 0, x, 0, a.gamma(), mean, invStd, out, 0,
                    a.dgamma(), a.dbeta()));
            assertTrue(backward <= MAX_BYTES_PER_CALL, "segment backward allocated " + backward + " B per call");
            long frozen = bytesPerCall(() -> ops.backwardFrozen(shape, dy, 0, x, 0, a.gamma(), a.zeros(), a.ones(),
                    1e-5, out, 0, a.dgamma(), a.dbeta()));
            assertTrue(frozen <= MAX_BYTES_PER_CALL, "segment frozen backward allocated " + frozen + " B per call");
        }
    }

    @Test
    void groupNormForwardAndBackwardAllocateNothingPerChannel() {
        // 2048 channels in 32 groups: a task's per-channel scratch would be ~64 KB per call.
        int[] shape = {4, 2048, 4, 4};
        int groups = 32;
        BackwardArrays a = BackwardArrays.of(shape);
        float[] mean = new float[4 * groups];
        float[] invStd = new float[4 * groups];
        GroupNormOps ops = GroupNormOps.get().singleThreaded();
        long forward = bytesPerCall(() -> ops.forward(shape, groups, a.x(), 0, a.dx(), 0, a.gamma(), a.zeros(), 1e-5,
                mean, invStd));
        assertTrue(forward <= MAX_BYTES_PER_CALL, "GroupNorm forward allocated " + forward + " B per call");
        long backward = bytesPerCall(() -> ops.backward(shape, groups, a.dy(), 0, a.x(), 0, a.gamma(), mean, invStd,
                a.dx(), 0, a.dgamma(), a.dbeta()));
        assertTrue(backward <= MAX_BYTES_PER_CALL, "GroupNorm backward allocated " + backward + " B per call");
    }

    @Test
    void layerNormAndRmsNormForwardAllocateNoBlockStatisticsPerCall() {
        // Rows of 64: a block of about 64K elements holds 1024 rows, whose per-row statistics would be ~28 KB.
        int[] shape = {4096, 64};
        float[] x = ramp(4096 * 64);
        float[] y = new float[x.length];
        float[] gamma = new float[64];
        java.util.Arrays.fill(gamma, 1f);
        float[] beta = new float[64];
        float[] mean = new float[4096];
        float[] invStd = new float[4096];
        LayerNormOps layer = LayerNormOps.get().singleThreaded();
        long bytes = bytesPerCall(() -> layer.forward(shape, 1, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd));
        assertTrue(bytes <= MAX_BYTES_PER_CALL, "LayerNorm forward allocated " + bytes + " B per call");
        RMSNormOps rms = RMSNormOps.get().singleThreaded();
        long rmsBytes = bytesPerCall(() -> rms.forward(shape, 1, x, 0, y, 0, gamma, 1e-5, invStd));
        assertTrue(rmsBytes <= MAX_BYTES_PER_CALL, "RMSNorm forward allocated " + rmsBytes + " B per call");
    }

    @Test
    void layerNormBackwardAllocatesNoColumnPartialsPerCall() {
        // Rows of 4096: each block's dgamma and dbeta column partials would be 64 KB per call.
        int[] shape = {64, 4096};
        float[] x = ramp(64 * 4096);
        float[] dy = ramp(x.length);
        float[] dx = new float[x.length];
        float[] gamma = new float[4096];
        java.util.Arrays.fill(gamma, 1f);
        float[] mean = new float[64];
        float[] invStd = new float[64];
        java.util.Arrays.fill(invStd, 1f);
        float[] dgamma = new float[4096];
        float[] dbeta = new float[4096];
        LayerNormOps layer = LayerNormOps.get().singleThreaded();
        long bytes = bytesPerCall(() -> layer.backward(shape, 1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma,
                dbeta));
        assertTrue(bytes <= MAX_BYTES_PER_CALL, "LayerNorm backward allocated " + bytes + " B per call");
        RMSNormOps rms = RMSNormOps.get().singleThreaded();
        long rmsBytes = bytesPerCall(() -> rms.backward(shape, 1, dy, 0, x, 0, gamma, invStd, dx, 0, dgamma));
        assertTrue(rmsBytes <= MAX_BYTES_PER_CALL, "RMSNorm backward allocated " + rmsBytes + " B per call");
    }
}
