package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.SegmentKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
    /**
     * Per thread, a copied tile's own slices of per-channel values (the dense tile is indexed from channel 0):
     * floats center, center low part, scale, shift; doubles two sums or moments, then three dx coefficients.
     */
    private static final ThreadLocal<float[][]> TILE_FLOATS = ThreadLocal.withInitial(() -> new float[4][0]);
    private static final ThreadLocal<double[][]> TILE_DOUBLES = ThreadLocal.withInitial(() -> new double[5][0]);

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

    /** Tile {@code t}'s channels of {@code perChannel} in this thread's float slot {@code which}, or null. */
    private static float[] part(float[] perChannel, Tile t, int which) {
        if (perChannel == null) {
            return null;
        }
        float[] slot = tileSlot(TILE_FLOATS.get(), which, t.c1() - t.c0());
        System.arraycopy(perChannel, t.c0(), slot, 0, t.c1() - t.c0());
        return slot;
    }

    /** Tile {@code t}'s channels of {@code perChannel} in this thread's double slot {@code which}. */
    private static double[] part(double[] perChannel, Tile t, int which) {
        double[] slot = tileDoubles(which, t.c1() - t.c0());
        System.arraycopy(perChannel, t.c0(), slot, 0, t.c1() - t.c0());
        return slot;
    }

    private static float[] tileSlot(float[][] slots, int which, int length) {
        if (slots[which].length < length) {
            slots[which] = new float[length];
        }
        return slots[which];
    }

    /** This thread's double slot {@code which}, of at least {@code length}; contents unspecified. */
    private static double[] tileDoubles(int which, int length) {
        double[][] slots = TILE_DOUBLES.get();
        if (slots[which].length < length) {
            slots[which] = new double[length];
        }
        return slots[which];
    }

    /** Statistics only: mean and biased variance per channel, tiled and merged as in {@link #forwardTraining}. */
    void statistics(MemorySegment x, long xOffset, double[] mean, double[] variance, Workspace ws) {
        List<Tile> tiles = Tiling.tiles(n, c, s, 1);
        boolean sliced = Tiling.sliced(tiles, n);
        int slices = sliced ? Tiling.sliceCount(tiles) : 1;
        double[][] sliceMean = sliced ? ws.sliceRows(Workspace.SliceRows.MEAN, slices, c) : null;
        double[][] sliceVar = sliced ? ws.sliceRows(Workspace.SliceRows.VARIANCE, slices, c) : null;
        scheduler.forEachTile(elements(), tiles, t -> {
            int tc = t.c1() - t.c0();
            double[] m = tileDoubles(0, tc);
            double[] v = tileDoubles(1, tc);
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
            double eps, double[] mean, double[] variance, double[] invStd, Workspace ws) {
        float[] hi = ws.floats(Workspace.Floats.CENTER_HI, c);
        float[] lo = ws.floats(Workspace.Floats.CENTER_LO, c);
        float[] scale = ws.floats(Workspace.Floats.SCALE, c);
        float[] shift = ws.floats(Workspace.Floats.SHIFT, c);
        List<Tile> tiles = Tiling.tiles(n, c, s, 1);
        if (!Tiling.sliced(tiles, n)) {
            if (scheduler.onCallingThread(elements(), tiles)) {
                // The tiles in a loop, not through a capturing lambda (which escapes through the pool branch).
                for (int i = 0; i < tiles.size(); i++) {
                    trainTile(tiles.get(i), x, xOffset, y, yOffset, gamma, beta, eps, mean, variance, invStd, hi, lo,
                            scale, shift);
                }
            } else {
                scheduler.forEachTile(elements(), tiles, t -> trainTile(t, x, xOffset, y, yOffset, gamma, beta, eps,
                        mean, variance, invStd, hi, lo, scale, shift));
            }
            return;
        }
        statistics(x, xOffset, mean, variance, ws);
        ChannelMath.normalizationParameters(0, c, mean, variance, gamma, beta, eps, invStd, hi, lo, scale, shift);
        affine(x, xOffset, y, yOffset, Tiling.streamTiles(n, c, s, 1), hi, lo, scale, shift);
    }

    /** Statistics, then normalize, of one unsliced tile (its copy stays in cache between the two). */
    private void trainTile(Tile t, MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] gamma,
            float[] beta, double eps, double[] mean, double[] variance, double[] invStd, float[] hi, float[] lo,
            float[] scale, float[] shift) {
        int tc = t.c1() - t.c0();
        float[] tile = gather(0, x, xOffset, t);
        double[] tileMean = tileDoubles(0, tc);
        double[] tileVar = tileDoubles(1, tc);
        kernels.moments(tile, 0, n, tc, s, 0, tc, tileMean, tileVar);
        System.arraycopy(tileMean, 0, mean, t.c0(), tc);
        System.arraycopy(tileVar, 0, variance, t.c0(), tc);
        ChannelMath.normalizationParameters(t.c0(), t.c1(), mean, variance, gamma, beta, eps, invStd, hi, lo, scale,
                shift);
        if (direct != null) {
            // x is in cache from the copy: normalize it straight into y. (Reading the copy instead measured no
            // faster.)
            direct.affine(x, xOffset, y, yOffset, n, c, s, t.c0(), t.c1(), hi, lo, scale, shift);
        } else {
            kernels.affine(tile, 0, tile, 0, n, tc, s, 0, tc, part(hi, t, 0), part(lo, t, 1), part(scale, t, 2),
                    part(shift, t, 3));
            scatter(tile, y, yOffset, t);
        }
    }

    /** y = ((x - hi) - lo) * scale + shift per channel, tile by tile. */
    void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, List<Tile> tiles, float[] hi,
            float[] lo, float[] scale, float[] shift) {
        if (scheduler.onCallingThread(elements(), tiles)) {
            for (int i = 0; i < tiles.size(); i++) {
                affineTile(tiles.get(i), x, xOffset, y, yOffset, hi, lo, scale, shift);
            }
        } else {
            scheduler.forEachTile(elements(), tiles, t -> affineTile(t, x, xOffset, y, yOffset, hi, lo, scale, shift));
        }
    }

    /** The affine map of one stream tile. */
    private void affineTile(Tile t, MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] hi,
            float[] lo, float[] scale, float[] shift) {
        int tc = t.c1() - t.c0();
        if (direct != null) {
            long first = (long) t.n0() * c * s;
            direct.affine(x, xOffset + first, y, yOffset + first, t.n1() - t.n0(), c, s, t.c0(), t.c1(), hi, lo,
                    scale, shift);
            return;
        }
        float[] tile = gather(0, x, xOffset, t);
        kernels.affine(tile, 0, tile, 0, t.n1() - t.n0(), tc, s, 0, tc, part(hi, t, 0), part(lo, t, 1),
                part(scale, t, 2), part(shift, t, 3));
        scatter(tile, y, yOffset, t);
    }

    /** Inference: the affine map with the given statistics. */
    void forwardInference(MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] mean,
            float[] scale, float[] shift, Workspace ws) {
        affine(x, xOffset, y, yOffset, Tiling.streamTiles(n, c, s, 1), mean,
                ws.zeroedFloats(Workspace.Floats.CENTER_LO, c), scale, shift);
    }

    /**
     * Backward sums per channel into {@code sumDy} and {@code sumDyCentered}, and, if {@code dx} is not null, the
     * input gradient from {@code gamma} and {@code invStd}. Unsliced tiles run both passes while the tile is in
     * cache (as the array path does); slices of a channel add up in slice order before any dx is written.
     */
    void backward(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx, long dxOffset,
            float[] gamma, float[] center, float[] invStd, double[] sumDy, double[] sumDyCentered, Workspace ws) {
        double[] dyScale = ws.doubles(Workspace.Doubles.DY_SCALE, c);
        double[] centeredScale = ws.doubles(Workspace.Doubles.CENTERED_SCALE, c);
        double[] shift = ws.doubles(Workspace.Doubles.SHIFT, c);
        double count = (double) n * s;
        List<Tile> tiles = Tiling.tiles(n, c, s, 2);
        if (!Tiling.sliced(tiles, n)) {
            if (scheduler.onCallingThread(2 * elements(), tiles)) {
                for (int i = 0; i < tiles.size(); i++) {
                    backwardTile(tiles.get(i), dy, dyOffset, x, xOffset, dx, dxOffset, gamma, center, invStd, sumDy,
                            sumDyCentered, count, dyScale, centeredScale, shift);
                }
            } else {
                scheduler.forEachTile(2 * elements(), tiles, t -> backwardTile(t, dy, dyOffset, x, xOffset, dx,
                        dxOffset, gamma, center, invStd, sumDy, sumDyCentered, count, dyScale, centeredScale, shift));
            }
            return;
        }
        int slices = Tiling.sliceCount(tiles);
        double[][] partDy = ws.sliceRows(Workspace.SliceRows.SUM_DY, slices, c);
        double[][] partDyCentered = ws.sliceRows(Workspace.SliceRows.SUM_DY_CENTERED, slices, c);
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

    /** Both backward passes of one unsliced tile: its sums, then (if dx is wanted) its dx while it is in cache. */
    private void backwardTile(Tile t, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            MemorySegment dx, long dxOffset, float[] gamma, float[] center, float[] invStd, double[] sumDy,
            double[] sumDyCentered, double count, double[] dyScale, double[] centeredScale, double[] shift) {
        TileCopies copies = tileSums(t, dy, dyOffset, x, xOffset, center, sumDy, sumDyCentered);
        if (dx != null) {
            ChannelMath.inputGradientParameters(t.c0(), t.c1(), gamma, invStd, sumDy, sumDyCentered, count, dyScale,
                    centeredScale, shift);
            gradientInput(t, dy, dyOffset, x, xOffset, copies, dx, dxOffset, center, dyScale, centeredScale, shift);
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
        double[] a = tileDoubles(0, tc);
        double[] b = tileDoubles(1, tc);
        kernels.gradientSums(dyTile, 0, xTile, 0, rows, tc, s, 0, tc, part(center, t, 0), a, b);
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
        kernels.gradientInput(dyCopy, 0, xCopy, 0, dyCopy, 0, rows, tc, s, 0, tc, part(center, t, 0),
                part(dyScale, t, 2), part(centeredScale, t, 3), part(shift, t, 4));
        scatter(dyCopy, dx, dxOffset, t);
    }

    /** Backward sums alone (frozen statistics): slices of a channel add up in slice order. */
    void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, float[] center,
            double[] sumDy, double[] sumDyCentered, Workspace ws) {
        backward(dy, dyOffset, x, xOffset, null, 0, null, center, null, sumDy, sumDyCentered, ws);
    }
}
