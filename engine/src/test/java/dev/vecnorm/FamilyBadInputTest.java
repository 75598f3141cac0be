package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Every argument of the family's raw calls (GroupNorm in both layouts, LayerNorm, RMSNorm; arrays and
 * MemorySegments) is checked before anything is written: a bad one throws an IllegalArgumentException naming it,
 * and every output stays as it was.
 */
class FamilyBadInputTest {

    private static final int[] SHAPE = {2, 4, 3, 2};
    private static final int SIZE = 48;
    private static final int C = 4;
    private static final int GROUPS = 2;
    private static final int ROWS = 24;
    private static final int WIDTH = 2;

    /** One call's arrays, outputs filled with a sentinel so that any write shows. */
    private static final class Args {
        float[] x = ramp(SIZE, 0.5f);
        float[] dy = ramp(SIZE, -0.25f);
        float[] y = sentinel(SIZE);
        float[] dx = sentinel(SIZE);
        float[] gamma = ramp(C, 1f);
        float[] beta = ramp(C, 0f);
        float[] saveMean = sentinel(C);
        float[] saveInvStd = sentinel(C);
        float[] statMean = ramp(C, 0.1f);
        float[] statInvStd = ramp(C, 1f);
        float[] dgamma = sentinel(C);
        float[] dbeta = sentinel(C);
        double eps = 1e-5;
        int xOffset;
        int yOffset;
        int dyOffset;
        int dxOffset;

        float[][] outputs() {
            return new float[][] {y, dx, saveMean, saveInvStd, dgamma, dbeta};
        }
    }

    private static float[] ramp(int n, float start) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = start + 0.37f * (i % 7) + i % 3;
        }
        return a;
    }

    private static float[] sentinel(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 42f);
        return a;
    }

    /**
     * The segment form of a call: each tensor array becomes a native segment holding its values (the same array,
     * the same segment, so aliasing carries over), and after the call, thrown or not, the output segments are
     * copied back into their arrays, so that a write shows as it would on arrays.
     */
    private static final class Segments implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final IdentityHashMap<float[], MemorySegment> made = new IdentityHashMap<>();

        MemorySegment of(float[] a) {
            if (a == null) {
                return null;
            }
            return made.computeIfAbsent(a, k -> {
                MemorySegment segment = arena.allocate((long) k.length * Float.BYTES, 64);
                MemorySegment.copy(k, 0, segment, ValueLayout.JAVA_FLOAT, 0, k.length);
                return segment;
            });
        }

        @Override
        public void close() {
            made.forEach((array, segment) -> MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, 0, array, 0,
                    array.length));
            arena.close();
        }
    }

    private static Consumer<Args> onSegments(SegmentCall call) {
        return a -> {
            try (Segments s = new Segments()) {
                call.run(a, s);
            }
        };
    }

    private interface SegmentCall {
        void run(Args a, Segments s);
    }

    /** Sizes per op: group statistics (N*G), row statistics (R) and affine width (C or D). */
    private record Op(String name, int statistics, int affine, Consumer<Args> call) {
    }

    private static Args args(Op op) {
        Args a = new Args();
        a.gamma = ramp(op.affine, 1f);
        a.beta = ramp(op.affine, 0f);
        a.dgamma = sentinel(op.affine);
        a.dbeta = sentinel(op.affine);
        a.saveMean = sentinel(op.statistics);
        a.saveInvStd = sentinel(op.statistics);
        a.statMean = ramp(op.statistics, 0.1f);
        a.statInvStd = ramp(op.statistics, 1f);
        return a;
    }

    private static Op[] forwardOps() {
        return new Op[] {
            new Op("GroupNorm channels-first", 2 * GROUPS, C, a -> GroupNormOps.get().forward(Layout.CHANNELS_FIRST,
                    SHAPE, GROUPS, a.x, a.xOffset, a.y, a.yOffset, a.gamma, a.beta, a.eps, a.saveMean,
                    a.saveInvStd)),
            new Op("GroupNorm channels-last", 2 * GROUPS, C, a -> GroupNormOps.get().forward(Layout.CHANNELS_LAST,
                    SHAPE, GROUPS, a.x, a.xOffset, a.y, a.yOffset, a.gamma, a.beta, a.eps, a.saveMean,
                    a.saveInvStd)),
            new Op("LayerNorm", ROWS, WIDTH, a -> LayerNormOps.get().forward(SHAPE, -1, a.x, a.xOffset, a.y,
                    a.yOffset, a.gamma, a.beta, a.eps, a.saveMean, a.saveInvStd)),
            new Op("RMSNorm", ROWS, WIDTH, a -> RMSNormOps.get().forward(SHAPE, -1, a.x, a.xOffset, a.y,
                    a.yOffset, a.gamma, a.eps, a.saveInvStd)),
            new Op("GroupNorm channels-first segments", 2 * GROUPS, C, onSegments((a, s) -> GroupNormOps.get()
                    .forward(Layout.CHANNELS_FIRST, SHAPE, GROUPS, s.of(a.x), a.xOffset, s.of(a.y), a.yOffset,
                            a.gamma, a.beta, a.eps, a.saveMean, a.saveInvStd))),
            new Op("GroupNorm channels-last segments", 2 * GROUPS, C, onSegments((a, s) -> GroupNormOps.get()
                    .forward(Layout.CHANNELS_LAST, SHAPE, GROUPS, s.of(a.x), a.xOffset, s.of(a.y), a.yOffset,
                            a.gamma, a.beta, a.eps, a.saveMean, a.saveInvStd))),
            new Op("LayerNorm segments", ROWS, WIDTH, onSegments((a, s) -> LayerNormOps.get().forward(SHAPE, -1,
                    s.of(a.x), a.xOffset, s.of(a.y), a.yOffset, a.gamma, a.beta, a.eps, a.saveMean, a.saveInvStd))),
            new Op("RMSNorm segments", ROWS, WIDTH, onSegments((a, s) -> RMSNormOps.get().forward(SHAPE, -1,
                    s.of(a.x), a.xOffset, s.of(a.y), a.yOffset, a.gamma, a.eps, a.saveInvStd))),
        };
    }

    private static Op[] backwardOps() {
        return new Op[] {
            new Op("GroupNorm channels-first", 2 * GROUPS, C, a -> GroupNormOps.get().backward(
                    Layout.CHANNELS_FIRST, SHAPE, GROUPS, a.dy, a.dyOffset, a.x, a.xOffset, a.gamma, a.statMean,
                    a.statInvStd, a.dx, a.dxOffset, a.dgamma, a.dbeta)),
            new Op("GroupNorm channels-last", 2 * GROUPS, C, a -> GroupNormOps.get().backward(Layout.CHANNELS_LAST,
                    SHAPE, GROUPS, a.dy, a.dyOffset, a.x, a.xOffset, a.gamma, a.statMean, a.statInvStd, a.dx,
                    a.dxOffset, a.dgamma, a.dbeta)),
            new Op("LayerNorm", ROWS, WIDTH, a -> LayerNormOps.get().backward(SHAPE, -1, a.dy, a.dyOffset, a.x,
                    a.xOffset, a.gamma, a.statMean, a.statInvStd, a.dx, a.dxOffset, a.dgamma, a.dbeta)),
            new Op("RMSNorm", ROWS, WIDTH, a -> RMSNormOps.get().backward(SHAPE, -1, a.dy, a.dyOffset, a.x,
                    a.xOffset, a.gamma, a.statInvStd, a.dx, a.dxOffset, a.dgamma)),
            new Op("GroupNorm channels-first segments", 2 * GROUPS, C, onSegments((a, s) -> GroupNormOps.get()
                    .backward(Layout.CHANNELS_FIRST, SHAPE, GROUPS, s.of(a.dy), a.dyOffset, s.of(a.x), a.xOffset,
                            a.gamma, a.statMean, a.statInvStd, s.of(a.dx), a.dxOffset, a.dgamma, a.dbeta))),
            new Op("GroupNorm channels-last segments", 2 * GROUPS, C, onSegments((a, s) -> GroupNormOps.get()
                    .backward(Layout.CHANNELS_LAST, SHAPE, GROUPS, s.of(a.dy), a.dyOffset, s.of(a.x), a.xOffset,
                            a.gamma, a.statMean, a.statInvStd, s.of(a.dx), a.dxOffset, a.dgamma, a.dbeta))),
            new Op("LayerNorm segments", ROWS, WIDTH, onSegments((a, s) -> LayerNormOps.get().backward(SHAPE, -1,
                    s.of(a.dy), a.dyOffset, s.of(a.x), a.xOffset, a.gamma, a.statMean, a.statInvStd, s.of(a.dx),
                    a.dxOffset, a.dgamma, a.dbeta))),
            new Op("RMSNorm segments", ROWS, WIDTH, onSegments((a, s) -> RMSNormOps.get().backward(SHAPE, -1,
                    s.of(a.dy), a.dyOffset, s.of(a.x), a.xOffset, a.gamma, a.statInvStd, s.of(a.dx), a.dxOffset,
                    a.dgamma))),
        };
    }

    /** Runs the op with one argument spoiled: it must throw naming {@code word} and leave every output alone. */
    private static void rejects(Op op, String word, Consumer<Args> spoil) {
        Args a = args(op);
        spoil.accept(a);
        float[][] before = Arrays.stream(a.outputs()).map(float[]::clone).toArray(float[][]::new);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.call.accept(a),
                op.name + ": " + word);
        // "x " (the name and a space) must open the message: the tensor checks name their argument first, and a
        // bare "x" would be found in almost any message.
        boolean named = word.endsWith(" ") ? e.getMessage().startsWith(word) : e.getMessage().contains(word);
        assertTrue(named, op.name + ": message should name " + word + ": " + e.getMessage());
        float[][] after = a.outputs();
        for (int i = 0; i < after.length; i++) {
            assertArrayEquals(before[i], after[i], op.name + ": output " + i + " written before the rejection of "
                    + word);
        }
    }

    @Test
    void theValidCallsRunAndWrite() {
        for (Op op : forwardOps()) {
            Args a = args(op);
            op.call.accept(a);
            assertTrue(a.y[0] != 42f && a.saveInvStd[0] != 42f, op.name + " wrote y and the statistics");
        }
        for (Op op : backwardOps()) {
            Args a = args(op);
            op.call.accept(a);
            assertTrue(a.dx[0] != 42f && a.dgamma[0] != 42f, op.name + " wrote dx and dgamma");
        }
    }

    @Test
    void forwardRejectsEachBadArgumentBeforeWriting() {
        for (Op op : forwardOps()) {
            boolean hasBeta = !op.name.startsWith("RMSNorm");
            boolean hasMean = !op.name.startsWith("RMSNorm");
            rejects(op, "x ", a -> a.x = new float[SIZE - 1]);
            rejects(op, "x offset", a -> a.xOffset = -1);
            rejects(op, "y ", a -> a.y = new float[SIZE - 1]);
            rejects(op, "y offset", a -> a.yOffset = 1);
            rejects(op, "gamma", a -> a.gamma = new float[op.affine + 1]);
            if (hasBeta) {
                rejects(op, "beta", a -> a.beta = new float[op.affine - 1]);
            }
            if (hasMean) {
                rejects(op, "saveMean", a -> a.saveMean = sentinel(op.statistics + 1));
            }
            rejects(op, op.name.startsWith("RMSNorm") ? "saveInvRms" : "saveInvStd",
                    a -> a.saveInvStd = sentinel(op.statistics - 1));
            rejects(op, "eps", a -> a.eps = -1e-5);
            rejects(op, "eps", a -> a.eps = Double.NaN);
            rejects(op, "overlaps", a -> {
                float[] shared = ramp(SIZE + 3, 0.5f);
                a.x = shared;
                a.y = shared;
                a.yOffset = 3;
            });
            if (op.statistics == op.affine) {
                rejects(op, "overlaps", a -> a.saveInvStd = a.gamma);
            }
            if (hasMean) {
                rejects(op, "overlaps", a -> a.saveMean = a.saveInvStd);
            }
        }
    }

    @Test
    void backwardRejectsEachBadArgumentBeforeWriting() {
        for (Op op : backwardOps()) {
            boolean hasBeta = !op.name.startsWith("RMSNorm");
            boolean hasMean = !op.name.startsWith("RMSNorm");
            rejects(op, "dy ", a -> a.dy = new float[SIZE - 1]);
            rejects(op, "dy ", a -> a.dy = null);
            rejects(op, "x ", a -> a.x = new float[SIZE - 1]);
            rejects(op, "dx ", a -> a.dx = sentinel(SIZE - 1));
            rejects(op, "dx offset", a -> a.dxOffset = -2);
            rejects(op, "gamma", a -> a.gamma = new float[op.affine + 1]);
            if (hasMean) {
                rejects(op, "saveMean", a -> a.statMean = new float[op.statistics - 1]);
                rejects(op, "saveMean", a -> a.statMean = null);
            }
            String invName = op.name.startsWith("RMSNorm") ? "saveInvRms" : "saveInvStd";
            rejects(op, invName, a -> a.statInvStd = new float[op.statistics + 1]);
            rejects(op, invName, a -> a.statInvStd[1] = -1f);
            rejects(op, invName, a -> a.statInvStd[0] = Float.NaN);
            rejects(op, "dgamma", a -> a.dgamma = sentinel(op.affine + 1));
            if (hasBeta) {
                rejects(op, "dbeta", a -> a.dbeta = sentinel(op.affine - 1));
            }
            rejects(op, "overlaps", a -> {
                float[] shared = sentinel(SIZE + 2);
                System.arraycopy(a.dy, 0, shared, 0, SIZE);
                a.dy = shared;
                a.dx = shared;
                a.dxOffset = 2;
            });
            rejects(op, "overlaps x", a -> {
                float[] shared = sentinel(SIZE + 2);
                System.arraycopy(a.x, 0, shared, 0, SIZE);
                a.x = shared;
                a.dx = shared;
                a.dxOffset = 2;
            });
            rejects(op, "overlaps", a -> a.dgamma = a.gamma);
        }
    }

    @Test
    void tensorFormsRejectGroupsThatDoNotDivideC() {
        Tensor x = Tensor.of(ramp(SIZE, 0.5f), SHAPE);
        for (int groups : new int[] {-2, 0, 3}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GroupNormOps.get().forward(x, groups, Affine.NONE, 1e-5));
            assertTrue(e.getMessage().contains("groups must divide C = 4, got groups = " + groups), e.getMessage());
        }
    }

    @Test
    void lengthMessagesSayWhatTheLengthCounts() {
        Op[] forward = forwardOps();
        rejects(forward[0], "saveMean has length 5, expected 4 (one per (sample, group))",
                a -> a.saveMean = sentinel(5));
        rejects(forward[2], "saveInvStd has length 23, expected 24 (one per row)", a -> a.saveInvStd = sentinel(23));
        rejects(forward[3], "saveInvRms has length 25, expected 24 (one per row)", a -> a.saveInvStd = sentinel(25));
        rejects(forward[2], "gamma has length 3, expected 2 (one per element of the normalized shape)",
                a -> a.gamma = new float[3]);
        rejects(forward[0], "gamma has length 3, expected C = 4", a -> a.gamma = new float[3]);
    }
}
