package dev.vecnorm;

import dev.vecnorm.BatchNormOps.Tile;
import dev.vecnorm.kernels.BatchNormKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The passes of {@link BatchNormOps} over tensors in {@link MemorySegment}s, addressed with long element offsets
 * (so tensors may hold more than 2^31 elements) at any alignment. Each tile of the tensor (the same tiles as the
 * array path: a block of channels that fits L2, or an N-slice of one channel) is copied into a per-thread heap
 * buffer, run through the same kernels, and copied back; so the results are bitwise those of the array API.
 * The copies are bulk and land in L2, next to the kernels' own second pass; arguments are validated by the
 * caller.
 */
final class SegmentPasses {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** A thread that never runs: segments it may access are accessible from any thread (not confined). */
    private static final Thread ANY_OTHER_THREAD = new Thread(() -> { });
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[2][0]);

    private final BatchNormOps ops;
    private final BatchNormKernels kernels;
    private final int n;
    private final int c;
    private final int s;

    /**
     * @param segments the call's segments: if one is confined to the calling thread, the passes stay on it
     */
    SegmentPasses(BatchNormOps ops, BatchNormKernels kernels, int n, int c, int s, MemorySegment... segments) {
        boolean shareable = true;
        for (MemorySegment segment : segments) {
            shareable &= segment == null || segment.isAccessibleBy(ANY_OTHER_THREAD);
        }
        this.ops = shareable ? ops : ops.singleThreaded();
        this.kernels = kernels;
        this.n = n;
        this.c = c;
        this.s = s;
    }

    private long elements() {
        return (long) n * c * s;
    }

    /** A per-thread buffer of at least {@code length} floats. */
    private static float[] buffer(int which, int length) {
        float[][] buffers = BUFFERS.get();
        if (buffers[which].length < length) {
            buffers[which] = new float[length];
        }
        return buffers[which];
    }

    /** Copies the tile's runs (each batch entry's channels c0..c1 are contiguous) into a dense tile tensor. */
    private float[] gather(int which, MemorySegment segment, long offset, Tile t) {
        int width = (t.c1() - t.c0()) * s;
        float[] dst = buffer(which, (t.n1() - t.n0()) * width);
        for (int i = t.n0(); i < t.n1(); i++) {
            long at = offset + ((long) i * c + t.c0()) * s;
            MemorySegment.copy(segment, FLOAT, at * Float.BYTES, dst, (i - t.n0()) * width, width);
        }
        return dst;
    }

    private void scatter(float[] src, MemorySegment segment, long offset, Tile t) {
        int width = (t.c1() - t.c0()) * s;
        for (int i = t.n0(); i < t.n1(); i++) {
            long at = offset + ((long) i * c + t.c0()) * s;
            MemorySegment.copy(src, (i - t.n0()) * width, segment, FLOAT, at * Float.BYTES, width);
        }
    }

    private static float[] part(float[] perChannel, Tile t) {
        return perChannel == null ? null : Arrays.copyOfRange(perChannel, t.c0(), t.c1());
    }

    /** Statistics into mean and variance, and y normalized with gamma, beta, eps (see the array overload). */
    void forwardTraining(MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] gamma, float[] beta,
            double eps, double[] mean, double[] variance, double[] invStd) {
        float[] hi = new float[c];
        float[] lo = new float[c];
        float[] scale = new float[c];
        float[] shift = new float[c];
        List<Tile> tiles = BatchNormOps.tiles(n, c, s, 1);
        if (tiles.get(0).n1() == n) {
            ops.forEachTile(elements(), tiles, t -> {
                int tc = t.c1() - t.c0();
                float[] tile = gather(0, x, xOffset, t);
                double[] tileMean = new double[tc];
                double[] tileVar = new double[tc];
                kernels.moments(tile, 0, n, tc, s, 0, tc, tileMean, tileVar);
                System.arraycopy(tileMean, 0, mean, t.c0(), tc);
                System.arraycopy(tileVar, 0, variance, t.c0(), tc);
                BatchNormOps.normalizationParameters(t.c0(), t.c1(), mean, variance, gamma, beta, eps, invStd, hi,
                        lo, scale, shift);
                kernels.affine(tile, 0, tile, 0, n, tc, s, 0, tc, part(hi, t), part(lo, t), part(scale, t),
                        part(shift, t));
                scatter(tile, y, yOffset, t);
            });
            return;
        }
        int slices = BatchNormOps.sliceCount(tiles);
        double[][] sliceMean = new double[slices][c];
        double[][] sliceVar = new double[slices][c];
        ops.forEachTile(elements(), tiles, t -> {
            double[] m = new double[1];
            double[] v = new double[1];
            kernels.moments(gather(0, x, xOffset, t), 0, t.n1() - t.n0(), 1, s, 0, 1, m, v);
            sliceMean[t.slice()][t.c0()] = m[0];
            sliceVar[t.slice()][t.c0()] = v[0];
        });
        BatchNormOps.mergeMoments(tiles, c, s, sliceMean, sliceVar, mean, variance);
        BatchNormOps.normalizationParameters(0, c, mean, variance, gamma, beta, eps, invStd, hi, lo, scale, shift);
        affine(x, xOffset, y, yOffset, tiles, hi, lo, scale, shift);
    }

    /** y = ((x - hi) - lo) * scale + shift per channel, tile by tile. */
    void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, List<Tile> tiles, float[] hi,
            float[] lo, float[] scale, float[] shift) {
        ops.forEachTile(elements(), tiles, t -> {
            int tc = t.c1() - t.c0();
            float[] tile = gather(0, x, xOffset, t);
            kernels.affine(tile, 0, tile, 0, t.n1() - t.n0(), tc, s, 0, tc, part(hi, t), part(lo, t),
                    part(scale, t), part(shift, t));
            scatter(tile, y, yOffset, t);
        });
    }

    /** Inference: the affine map with the given statistics. */
    void forwardInference(MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] mean,
            float[] scale, float[] shift) {
        affine(x, xOffset, y, yOffset, BatchNormOps.tiles(n, c, s, 1), mean, new float[c], scale, shift);
    }

    /** Backward sums, per channel; slices of a channel add up in slice order. */
    void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, float[] center,
            double[] sumDy, double[] sumDyCentered) {
        List<Tile> tiles = BatchNormOps.tiles(n, c, s, 2);
        int slices = BatchNormOps.sliceCount(tiles);
        double[][] partDy = new double[slices][c];
        double[][] partDyCentered = new double[slices][c];
        ops.forEachTile(2 * elements(), tiles, t -> {
            int tc = t.c1() - t.c0();
            double[] a = new double[tc];
            double[] b = new double[tc];
            kernels.gradientSums(gather(0, dy, dyOffset, t), 0, gather(1, x, xOffset, t), 0, t.n1() - t.n0(), tc, s,
                    0, tc, part(center, t), a, b);
            System.arraycopy(a, 0, partDy[t.slice()], t.c0(), tc);
            System.arraycopy(b, 0, partDyCentered[t.slice()], t.c0(), tc);
        });
        BatchNormOps.addSlices(partDy, partDyCentered, sumDy, sumDyCentered);
    }

    /** dx = dy * dyScale - (x - center) * centeredScale - shift, tile by tile. */
    void gradientInput(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx,
            long dxOffset, float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        ops.forEachTile(2 * elements(), BatchNormOps.tiles(n, c, s, 2), t -> {
            int tc = t.c1() - t.c0();
            float[] dyTile = gather(0, dy, dyOffset, t);
            float[] xTile = gather(1, x, xOffset, t);
            kernels.gradientInput(dyTile, 0, xTile, 0, dyTile, 0, t.n1() - t.n0(), tc, s, 0, tc, part(center, t),
                    Arrays.copyOfRange(dyScale, t.c0(), t.c1()), Arrays.copyOfRange(centeredScale, t.c0(), t.c1()),
                    Arrays.copyOfRange(shift, t.c0(), t.c1()));
            scatter(dyTile, dx, dxOffset, t);
        });
    }
}
