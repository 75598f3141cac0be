package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Float64Reference;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Where the tensors live and how many threads run must not change a bit: every generated case runs on arrays
 * with one thread (the form the other properties check against float64), then on the drawn storage (heap or
 * native segments, float-aligned or not) with the drawn thread count, and both must agree exactly, for
 * training, inference and backward, in both layouts.
 */
class StorageAndThreadsPropertiesTest {

    /** Where a case's tensors are stored. */
    enum Storage { ARRAY, HEAP_SEGMENT, BYTE_SEGMENT, NATIVE_ALIGNED, NATIVE_MISALIGNED }

    private static final ForkJoinPool TWO = new ForkJoinPool(2);
    private static final ForkJoinPool THREE = new ForkJoinPool(3);

    @AfterAll
    static void shutdown() {
        TWO.shutdown();
        THREE.shutdown();
    }

    private static List<Backend> implementations() {
        List<Backend> all = new ArrayList<>();
        all.add(Backend.scalarReference());
        Backend.vector().ifPresent(all::add);
        return all;
    }

    /** All outputs of training, inference and backward, concatenated. */
    private record Outputs(float[] all) {
    }

    @Test
    void segmentsAndThreadCountsGiveTheArrayResultBitForBit() {
        Gen<Storage> storages = Generate.enumValues(Storage.class);
        Gen<Integer> threads = integers().between(1, 3);
        Gen<Layout> layouts = Generate.enumValues(Layout.class);
        qt().forAll(Generators.trainable(), storages, threads, layouts).checkAssert((c, storage, t, layout) -> {
            for (Backend k : implementations()) {
                Outputs reference = run(BatchNormOps.using(k).singleThreaded(), c, Storage.ARRAY, layout);
                BatchNormOps ops = switch (t) {
                    case 1 -> BatchNormOps.using(k).singleThreaded();
                    case 2 -> BatchNormOps.using(k).parallel(TWO);
                    default -> BatchNormOps.using(k).parallel(THREE);
                };
                Outputs got = run(ops, c, storage, layout);
                assertArrayEquals(reference.all(), got.all(), k.name() + " " + c + " " + storage + " threads " + t
                        + " " + layout);
            }
        });
    }

    private static Outputs run(BatchNormOps ops, BnCase c, Storage storage, Layout layout) {
        NcsShape sh = c.shape();
        int n = sh.size();
        float[] x = c.x();
        float[] dy = c.dy();
        float[] gamma = c.gamma();
        float[] beta = c.beta();
        float[] mean = new float[sh.c()];
        float[] invStd = new float[sh.c()];
        double[] m = Float64Reference.mean(sh, x);
        double[] v = Float64Reference.variance(sh, x, m);
        float[] runMean = new float[sh.c()];
        float[] runVar = new float[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            runMean[ch] = (float) m[ch];
            runVar[ch] = Float.isFinite((float) v[ch]) ? (float) v[ch] : 1f;
        }
        float[] y;
        float[] yEval;
        float[] dx;
        float[] dgamma = new float[sh.c()];
        float[] dbeta = new float[sh.c()];
        if (storage == Storage.ARRAY) {
            y = new float[n];
            yEval = new float[n];
            dx = new float[n];
            ops.forwardTraining(layout, c.dims(), x, 0, y, 0, gamma, beta, c.eps(), mean, invStd, null);
            ops.forwardInference(layout, c.dims(), x, 0, yEval, 0, gamma, beta, runMean, runVar, c.eps());
            ops.backward(layout, c.dims(), dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment xs = segment(arena, storage, x);
                MemorySegment dys = segment(arena, storage, dy);
                MemorySegment ys = segment(arena, storage, new float[n]);
                MemorySegment evals = segment(arena, storage, new float[n]);
                MemorySegment dxs = segment(arena, storage, new float[n]);
                ops.forwardTraining(layout, c.dims(), xs, 0, ys, 0, gamma, beta, c.eps(), mean, invStd, null);
                ops.forwardInference(layout, c.dims(), xs, 0, evals, 0, gamma, beta, runMean, runVar, c.eps());
                ops.backward(layout, c.dims(), dys, 0, xs, 0, gamma, mean, invStd, dxs, 0, dgamma, dbeta);
                y = floats(ys, n);
                yEval = floats(evals, n);
                dx = floats(dxs, n);
            }
        }
        List<float[]> parts = List.of(y, mean, invStd, yEval, dx, dgamma, dbeta);
        float[] all = new float[parts.stream().mapToInt(a -> a.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return new Outputs(all);
    }

    /** A segment of the storage kind holding {@code data}; misaligned segments start 2 bytes into a float. */
    private static MemorySegment segment(Arena arena, Storage storage, float[] data) {
        long bytes = (long) data.length * Float.BYTES;
        MemorySegment s = switch (storage) {
            case HEAP_SEGMENT -> MemorySegment.ofArray(new float[data.length]);
            case BYTE_SEGMENT -> MemorySegment.ofArray(new byte[(int) bytes + 4]).asSlice(4, bytes);
            case NATIVE_ALIGNED -> arena.allocate(bytes, 64);
            case NATIVE_MISALIGNED -> arena.allocate(bytes + 4, 64).asSlice(2, bytes);
            case ARRAY -> throw new IllegalArgumentException("arrays are not segments");
        };
        MemorySegment.copy(data, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
        return s;
    }

    private static float[] floats(MemorySegment s, int n) {
        float[] out = new float[n];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, 0, n);
        return out;
    }
}
