package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.SegmentKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The passes of {@link BatchNormOps} over tensors in {@link MemorySegment}s, addressed with long element offsets
 * (so tensors may hold more than 2^31 elements). Tiles are those of the array path (a block of channels that fits
 * L2, or an N-slice of one channel), and every element sees the same arithmetic, so results are bitwise those of
 * the array API. Arguments are validated by the caller.
 *
 * <p>Two ways to reach the data:
 * <ul>
 *   <li><b>direct</b> (float-aligned segments and kernels that implement {@link SegmentKernels}): the
 *       element-wise passes (normalize, inference, dx) and the backward sums load and store the segments with
 *       vector instructions; the training statistics still run on a heap copy of the tile, and the normalize pass
 *       that follows finds x in cache;</li>
 *   <li><b>copied</b> (any alignment, or scalar kernels): each tile is bulk-copied into a per-thread heap buffer,
 *       run through the array kernels, and copied back.</li>
 * </ul>
 */
final class SegmentPasses {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** A thread that never runs: segments it may access are accessible from any thread (not confined). */
    private static final Thread ANY_OTHER_THREAD = new Thread(() -> { });
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[2][0]);

    private final TileScheduler scheduler;
    private final BatchNormKernels kernels;
    /** The kernels' segment loops when every segment is float-aligned, else null (copy through buffers). */
    private final SegmentKernels direct;
    private final int n;
    private final int c;
    private final int s;

    /**
     * @param segments the call's segments: if one is confined to the calling thread, the passes stay on it
     */
    SegmentPasses(TileScheduler scheduler, BatchNormKernels kernels, int n, int c, int s, MemorySegment... segments) {
        boolean aligned = true;
        for (MemorySegment segment : segments) {
            aligned &= segment == null || segment.maxByteAlignment() >= Float.BYTES;
        }
        this.scheduler = shareable(segments) ? scheduler : new TileScheduler(null);
        this.kernels = kernels;
        this.direct = aligned && kernels instanceof SegmentKernels segmentKernels ? segmentKernels : null;
        this.n = n;
        this.c = c;
        this.s = s;
    }

    /** True if every segment (nulls aside) may be accessed from any thread, i.e. none is thread-confined. */
    static boolean shareable(MemorySegment... segments) {
        for (MemorySegment segment : segments) {
            if (segment != null && !segment.isAccessibleBy(ANY_OTHER_THREAD)) {
                return false;
            }
        }
        return true;
    }

    private long elements() {
        return (long) n * c * s;
    }

    /** True if the element-wise passes read and write the segments directly. */
    boolean direct() {
        return direct != null;
    }

    /**
     * The float[] behind a heap segment whose elements are float-aligned in it, else null: the array API can then
     * run on it directly, without copies.
     */
    static float[] backingArray(MemorySegment segment) {
        if (segment != null && segment.heapBase().orElse(null) instanceof float[] array
                && segment.address() % Float.BYTES == 0) {
            return array;
        }
        return null;
    }

    /**
     * True if the call's tensors (the first two given, the optional third null or not) all lie in float[]-backed
     * heap segments, float-aligned: the array path then runs on them directly.
     */
    static boolean onArrays(MemorySegment a, MemorySegment b, MemorySegment optional) {
        return backingArray(a) != null && backingArray(b) != null
                && (optional == null || backingArray(optional) != null);
    }

    /** The array index of float {@code offset} of a segment that {@link #backingArray} accepted. */
    static int arrayOffset(MemorySegment segment, long offset) {
        return Math.toIntExact(segment.address() / Float.BYTES + offset);
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

    /** Statistics only: mean and biased variance per channel, tiled and merged as in {@link #forwardTraining}. */
    void statistics(MemorySegment x, long xOffset, double[] mean, double[] variance) {
        List<Tile> tiles = Tiling.tiles(n, c, s, 1);
        boolean sliced = Tiling.sliced(tiles, n);
        int slices = sliced ? Tiling.sliceCount(tiles) : 1;
        double[][] sliceMean = new double[slices][c];
        double[][] sliceVar = new double[slices][c];
        scheduler.forEachTile(elements(), tiles, t -> {
            int tc = t.c1() - t.c0();
            double[] m = new double[tc];
            double[] v = new double[tc];
            kernels.moments(gather(0, x, xOffset, t), 0, t.n1() - t.n0(), tc, s, 0, tc, m, v);
            System.arraycopy(m, 0, sliced ? sliceMean[t.slice()] : mean, t.c0(), tc);
            System.arraycopy(v, 0, sliced ? sliceVar[t.slice()] : variance, t.c0(), tc);
        });
        if (sliced) {
            ChannelMath.mergeMoments(tiles, c, s, sliceMean, sliceVar, mean, variance);
        }
    }

    /** Statistics into mean and variance, and y normalized with gamma, beta, eps (see the array overload). */
    void forwardTraining(MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] gamma, float[] beta,
            double eps, double[] mean, double[] variance, double[] invStd) {
        float[] hi = new float[c];
        float[] lo = new float[c];
        float[] scale = new float[c];
        float[] shift = new float[c];
        List<Tile> tiles = Tiling.tiles(n, c, s, 1);
        if (!Tiling.sliced(tiles, n)) {
            scheduler.forEachTile(elements(), tiles, t -> {
                int tc = t.c1() - t.c0();
                float[] tile = gather(0, x, xOffset, t);
                double[] tileMean = new double[tc];
                double[] tileVar = new double[tc];
                kernels.moments(tile, 0, n, tc, s, 0, tc, tileMean, tileVar);
                System.arraycopy(tileMean, 0, mean, t.c0(), tc);
                System.arraycopy(tileVar, 0, variance, t.c0(), tc);
                ChannelMath.normalizationParameters(t.c0(), t.c1(), mean, variance, gamma, beta, eps, invStd, hi,
                        lo, scale, shift);
                if (direct != null) {
                    // x is in cache from the copy: normalize it straight into y. (Reading the copy instead
                    // measured no faster.)
                    direct.affine(x, xOffset, y, yOffset, n, c, s, t.c0(), t.c1(), hi, lo, scale, shift);
                } else {
                    kernels.affine(tile, 0, tile, 0, n, tc, s, 0, tc, part(hi, t), part(lo, t), part(scale, t),
                            part(shift, t));
                    scatter(tile, y, yOffset, t);
                }
            });
            return;
        }
        statistics(x, xOffset, mean, variance);
        ChannelMath.normalizationParameters(0, c, mean, variance, gamma, beta, eps, invStd, hi, lo, scale, shift);
        affine(x, xOffset, y, yOffset, Tiling.streamTiles(n, c, s, 1), hi, lo, scale, shift);
    }

    /** y = ((x - hi) - lo) * scale + shift per channel, tile by tile. */
    void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, List<Tile> tiles, float[] hi,
            float[] lo, float[] scale, float[] shift) {
        scheduler.forEachTile(elements(), tiles, t -> {
            int tc = t.c1() - t.c0();
            if (direct != null) {
                long first = (long) t.n0() * c * s;
                direct.affine(x, xOffset + first, y, yOffset + first, t.n1() - t.n0(), c, s, t.c0(), t.c1(), hi, lo,
                        scale, shift);
                return;
            }
            float[] tile = gather(0, x, xOffset, t);
            kernels.affine(tile, 0, tile, 0, t.n1() - t.n0(), tc, s, 0, tc, part(hi, t), part(lo, t),
                    part(scale, t), part(shift, t));
            scatter(tile, y, yOffset, t);
        });
    }

    /** Inference: the affine map with the given statistics. */
    void forwardInference(MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] mean,
            float[] scale, float[] shift) {
        affine(x, xOffset, y, yOffset, Tiling.streamTiles(n, c, s, 1), mean, new float[c], scale, shift);
    }

    /**
     * Backward sums per channel into {@code sumDy} and {@code sumDyCentered}, and, if {@code dx} is not null, the
     * input gradient from {@code gamma} and {@code invStd}. Unsliced tiles run both passes while the tile is in
     * cache (as the array path does); slices of a channel add up in slice order before any dx is written.
     */
    void backward(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx, long dxOffset,
            float[] gamma, float[] center, float[] invStd, double[] sumDy, double[] sumDyCentered) {
        double[] dyScale = new double[c];
        double[] centeredScale = new double[c];
        double[] shift = new double[c];
        double count = (double) n * s;
        List<Tile> tiles = Tiling.tiles(n, c, s, 2);
        if (!Tiling.sliced(tiles, n)) {
            scheduler.forEachTile(2 * elements(), tiles, t -> {
                TileCopies copies = tileSums(t, dy, dyOffset, x, xOffset, center, sumDy, sumDyCentered);
                if (dx != null) {
                    ChannelMath.inputGradientParameters(t.c0(), t.c1(), gamma, invStd, sumDy, sumDyCentered, count,
                            dyScale, centeredScale, shift);
                    gradientInput(t, dy, dyOffset, x, xOffset, copies, dx, dxOffset, center, dyScale, centeredScale,
                            shift);
                }
            });
            return;
        }
        int slices = Tiling.sliceCount(tiles);
        double[][] partDy = new double[slices][c];
        double[][] partDyCentered = new double[slices][c];
        scheduler.forEachTile(2 * elements(), tiles, t -> tileSums(t, dy, dyOffset, x, xOffset, center, partDy[t.slice()],
                partDyCentered[t.slice()]));
        ChannelMath.addSlices(partDy, partDyCentered, slices, c, sumDy, sumDyCentered);
        if (dx != null) {
            ChannelMath.inputGradientParameters(0, c, gamma, invStd, sumDy, sumDyCentered, count, dyScale,
                    centeredScale, shift);
            scheduler.forEachTile(2 * elements(), Tiling.streamTiles(n, c, s, 2), t -> gradientInput(t, dy, dyOffset,
                    x, xOffset, null, dx, dxOffset, center, dyScale, centeredScale, shift));
        }
    }

    /** The heap copies of a tile's dy and x, when the copied path made them. */
    private record TileCopies(float[] dy, float[] x) {
    }

    /**
     * The sums of one tile into {@code sumDy} and {@code sumDyCentered} at the tile's channels. Returns the heap
     * copies it read from (copied path), or null (direct).
     */
    private TileCopies tileSums(Tile t, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] center, double[] sumDy, double[] sumDyCentered) {
        int rows = t.n1() - t.n0();
        if (direct != null) {
            long first = (long) t.n0() * c * s;
            direct.gradientSums(dy, dyOffset + first, x, xOffset + first, rows, c, s, t.c0(), t.c1(), center, sumDy,
                    sumDyCentered);
            return null;
        }
        int tc = t.c1() - t.c0();
        float[] dyTile = gather(0, dy, dyOffset, t);
        float[] xTile = gather(1, x, xOffset, t);
        double[] a = new double[tc];
        double[] b = new double[tc];
        kernels.gradientSums(dyTile, 0, xTile, 0, rows, tc, s, 0, tc, part(center, t), a, b);
        System.arraycopy(a, 0, sumDy, t.c0(), tc);
        System.arraycopy(b, 0, sumDyCentered, t.c0(), tc);
        return new TileCopies(dyTile, xTile);
    }

    /** dx of one tile, from the segments (direct) or from heap copies (made now if {@code copies} is null). */
    private void gradientInput(Tile t, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            TileCopies copies, MemorySegment dx, long dxOffset, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        int rows = t.n1() - t.n0();
        if (direct != null) {
            long first = (long) t.n0() * c * s;
            direct.gradientInput(dy, dyOffset + first, x, xOffset + first, dx, dxOffset + first, rows, c, s, t.c0(),
                    t.c1(), center, dyScale, centeredScale, shift);
            return;
        }
        int tc = t.c1() - t.c0();
        float[] dyCopy = copies != null ? copies.dy() : gather(0, dy, dyOffset, t);
        float[] xCopy = copies != null ? copies.x() : gather(1, x, xOffset, t);
        kernels.gradientInput(dyCopy, 0, xCopy, 0, dyCopy, 0, rows, tc, s, 0, tc, part(center, t),
                Arrays.copyOfRange(dyScale, t.c0(), t.c1()), Arrays.copyOfRange(centeredScale, t.c0(), t.c1()),
                Arrays.copyOfRange(shift, t.c0(), t.c1()));
        scatter(dyCopy, dx, dxOffset, t);
    }

    /** Backward sums alone (frozen statistics): slices of a channel add up in slice order. */
    void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, float[] center,
            double[] sumDy, double[] sumDyCentered) {
        backward(dy, dyOffset, x, xOffset, null, 0, null, center, null, sumDy, sumDyCentered);
    }
}
