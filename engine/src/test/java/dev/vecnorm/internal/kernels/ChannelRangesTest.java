package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Distribution;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Every pass on channel ranges that do not start at 0 (tiles past the first): the Vector API kernels, on arrays
 * and on native segments, against the scalar reference over all channels. With 4 MiB tiles most shapes in the
 * other tests are one tile starting at channel 0, where an offset computed wrongly from c0 goes unseen.
 */
class ChannelRangesTest {

    /** Runs of 1, 3 (across positions), 16, 17 and 49 floats (along runs, with and without tails). */
    private static final int[] RUNS = {1, 3, 16, 17, 49};
    private static final int N = 3;
    private static final int C = 7;
    private static final int[][] RANGES = {{0, 2}, {2, 5}, {5, 7}};
    /** Enough channels that short runs fill the four-vector blocks of the across-positions loops at 512 bits. */
    private static final int WIDE_C = 40;
    private static final int[][] WIDE_RANGES = {{0, 13}, {13, 40}};

    /** Outputs start as NaN so that a pass which forgets to write (or zero) them cannot pass. */
    private static double[] sentinel(int length) {
        double[] a = new double[length];
        java.util.Arrays.fill(a, Double.NaN);
        return a;
    }

    private static void close(double[] want, double[] got, String what) {
        for (int k = 0; k < want.length; k++) {
            assertTrue(Math.abs(want[k] - got[k]) <= 1e-9 * (1 + Math.abs(want[k])),
                    what + "[" + k + "]: " + got[k] + " vs " + want[k]);
        }
    }

    private static void close(float[] want, float[] got, String what) {
        for (int k = 0; k < want.length; k++) {
            assertTrue(Math.abs(want[k] - got[k]) <= 1e-6 * (1 + Math.abs(want[k])),
                    what + "[" + k + "]: " + got[k] + " vs " + want[k]);
        }
    }

    @Test
    void everyPassOnEveryRangeMatchesTheReference() {
        for (int s : RUNS) {
            everyPassMatches(N, s, C, RANGES);
        }
    }

    @Test
    void shortRunsOverManyChannelsMatchTheReference() {
        everyPassMatches(N, 1, WIDE_C, WIDE_RANGES);
        everyPassMatches(N, 3, WIDE_C, WIDE_RANGES);
    }

    /**
     * Rows a page or more apart (1100 and 1200 floats) take the backward sums' four-row form: nine rows are two groups of
     * four and one row alone, on ranges that start inside the row.
     */
    @Test
    void rowsAPageApartMatchTheReferenceOnEveryRange() {
        everyPassMatches(9, 1, 1100, new int[][] {{0, 501}, {501, 1100}});
        everyPassMatches(9, 3, 400, new int[][] {{0, 167}, {167, 400}});
    }

    /**
     * Coefficient rows of 2048 floats or more take the affine pass's four-row form, and of 1024 or more dx's
     * two-row form: nine rows are two groups of four (four pairs) and one alone, on ranges that start inside the
     * row and leave a tail (2051 and 2449 positions of single values; 2103 and 2097 of runs of 3).
     */
    @Test
    void wideRowsOfCoefficientsMatchTheReferenceInGroupsOfFour() {
        everyPassMatches(9, 1, 4500, new int[][] {{0, 2051}, {2051, 4500}});
        everyPassMatches(9, 3, 1400, new int[][] {{0, 701}, {701, 1400}});
    }

    /**
     * Runs of a page or more take the affine pass's four-runs form, one run from each quarter of the range's runs
     * with its own channel: 6 runs (one group of four, two left starting inside a row), 9 (two groups, one left),
     * 15 and 25 runs, with a tail of five floats and without one.
     */
    @Test
    void longRunsFourAtATimeMatchTheReferenceOnEveryRange() {
        everyPassMatches(N, AffineRuns.FOUR_RUN_FLOATS + 5, C, RANGES);
        everyPassMatches(5, AffineRuns.FOUR_RUN_FLOATS, 5, new int[][] {{0, 3}, {3, 5}});
    }

    /**
     * Runs along: the statistics take four samples at a time from the quarters of the batch, the backward sums
     * two from its halves. 9 samples (two groups of four and one left; four pairs and one left) of runs of 130
     * floats (a tail of two), and 6 samples of 20 (one group of four and two left; under 8 samples runs go
     * along).
     */
    @Test
    void runsAlongInQuartersAndHalvesOfTheBatchMatchTheReference() {
        everyPassMatches(9, 130, C, RANGES);
        everyPassMatches(6, 20, C, RANGES);
    }

    /**
     * The four-runs form (the plain map) and the fused ReLU's runs on a range of channels write exactly that
     * range's runs: every other run keeps its NaN, and every run of the range gets the reference's value. 3 samples of
     * channels [2, 5) of 7 are 9 runs: two groups of four and one left, which starts inside a sample.
     */
    @Test
    void longRunsFourAtATimeWriteOnlyTheirRange() {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        int s = AffineRuns.FOUR_RUN_FLOATS + 3;
        NcsShape sh = new NcsShape(N, C, s);
        float[] x = Distribution.NORMAL.tensor(sh, 9);
        float[] hi = new float[C];
        float[] lo = new float[C];
        float[] scale = new float[C];
        float[] shift = new float[C];
        for (int ch = 0; ch < C; ch++) {
            hi[ch] = 0.1f * ch;
            scale[ch] = 1f + ch;
            shift[ch] = ch - 3f;
        }
        for (boolean relu : new boolean[] {false, true}) {
            float[] want = new float[sh.size()];
            float[] got = new float[sh.size()];
            java.util.Arrays.fill(got, Float.NaN);
            if (relu) {
                scalar.affineFused(x, 0, null, 0, want, 0, N, C, s, 0, C, hi, lo, scale, shift, true);
                vector.affineFused(x, 0, null, 0, got, 0, N, C, s, 2, 5, hi, lo, scale, shift, true);
            } else {
                scalar.affine(x, 0, want, 0, N, C, s, 0, C, hi, lo, scale, shift);
                vector.affine(x, 0, got, 0, N, C, s, 2, 5, hi, lo, scale, shift);
            }
            for (int i = 0; i < sh.size(); i++) {
                int ch = i / s % C;
                String where = (relu ? "relu" : "affine") + "[" + i + "] (channel " + ch + ")";
                if (ch >= 2 && ch < 5) {
                    assertTrue(Math.abs(want[i] - got[i]) <= 1e-6f * (1 + Math.abs(want[i])),
                            where + ": " + got[i] + " vs " + want[i]);
                } else {
                    assertTrue(Float.isNaN(got[i]), where + " outside the range: " + got[i]);
                }
            }
        }
    }

    /**
     * A tile of whole groups of rows writes only its rows: the row after the tile (another thread's tile) keeps
     * what it held, tails included.
     */
    @Test
    void rowGroupsWriteNothingPastTheirTile() {
        int width = 2051;
        int rows = 8;
        NcsShape sh = new NcsShape(rows + 1, width, 1);
        float[] x = Distribution.MIXTURE.tensor(sh, 3);
        float[] dy = Distribution.NORMAL.tensor(sh, 4);
        float[] hi = new float[width];
        float[] lo = new float[width];
        float[] scale = new float[width];
        float[] shift = new float[width];
        double[] a = new double[width];
        double[] b = new double[width];
        double[] d = new double[width];
        for (int ch = 0; ch < width; ch++) {
            scale[ch] = 1 + ch % 3;
            shift[ch] = ch % 5;
            a[ch] = 0.5 + ch % 3;
            b[ch] = 0.25;
            d[ch] = ch % 7;
        }
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        SegmentKernels segments = (SegmentKernels) vector;
        int size = sh.size();
        float[][] outs = new float[5][size];
        for (float[] o : outs) {
            java.util.Arrays.fill(o, Float.NaN);
        }
        vector.affine(x, 0, outs[0], 0, rows, width, 1, 0, width, hi, lo, scale, shift);
        vector.gradientInput(dy, 0, x, 0, outs[1], 0, rows, width, 1, 0, width, hi, a, b, d);
        vector.affineFused(x, 0, dy, 0, outs[2], 0, rows, width, 1, 0, width, hi, lo, scale, shift, true);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = arena.allocate((long) size * Float.BYTES, 64);
            MemorySegment dys = arena.allocate((long) size * Float.BYTES, 64);
            MemorySegment ys = arena.allocate((long) size * Float.BYTES, 64);
            MemorySegment dxs = arena.allocate((long) size * Float.BYTES, 64);
            MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, size);
            MemorySegment.copy(dy, 0, dys, ValueLayout.JAVA_FLOAT, 0, size);
            MemorySegment.copy(outs[3], 0, ys, ValueLayout.JAVA_FLOAT, 0, size);
            MemorySegment.copy(outs[4], 0, dxs, ValueLayout.JAVA_FLOAT, 0, size);
            segments.affine(xs, 0, ys, 0, rows, width, 1, 0, width, hi, lo, scale, shift);
            segments.gradientInput(dys, 0, xs, 0, dxs, 0, rows, width, 1, 0, width, hi, a, b, d);
            outs[3] = ys.toArray(ValueLayout.JAVA_FLOAT);
            outs[4] = dxs.toArray(ValueLayout.JAVA_FLOAT);
        }
        String[] names = {"affine", "dx", "fused", "segment affine", "segment dx"};
        for (int k = 0; k < outs.length; k++) {
            for (int q = rows * width; q < size; q++) {
                assertTrue(Float.isNaN(outs[k][q]), names[k] + " wrote [" + q + "] past its " + rows + " rows");
            }
            for (int q = 0; q < rows * width; q++) {
                assertTrue(!Float.isNaN(outs[k][q]), names[k] + " left [" + q + "] unwritten");
            }
        }
    }

    /**
     * Runs shorter than 128 floats with eight rows or more take the statistics' across-positions form in blocks of
     * about 2048 positions: 100 runs of 49 are three blocks, 130 runs of 17 two, on ranges that cut a block.
     */
    @Test
    void shortRunsOverManyRowsMatchTheReferenceAcrossBlocks() {
        everyPassMatches(9, 49, 100, new int[][] {{0, 37}, {37, 100}});
        everyPassMatches(9, 17, 130, new int[][] {{0, 64}, {64, 130}});
    }

    private static void everyPassMatches(int n, int s, int channels, int[][] ranges) {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        SegmentKernels segments = (SegmentKernels) vector;
        NcsShape sh = new NcsShape(n, channels, s);
        int size = sh.size();
        float[] x = Distribution.MIXTURE.tensor(sh, s);
        float[] dy = Distribution.NORMAL.tensor(sh, s + 1);
        String tag = "s=" + s + " channels=" + channels;

        double[] mean = new double[channels];
        double[] var = new double[channels];
        scalar.moments(x, 0, n, channels, s, 0, channels, mean, var);
        double[] vm = sentinel(channels);
        double[] vv = sentinel(channels);
        for (int[] r : ranges) {
            vector.moments(x, 0, n, channels, s, r[0], r[1], vm, vv);
        }
        close(mean, vm, tag + " mean");
        close(var, vv, tag + " variance");

        float[] hi = new float[channels];
        float[] lo = new float[channels];
        float[] scale = new float[channels];
        float[] shift = new float[channels];
        for (int ch = 0; ch < channels; ch++) {
            hi[ch] = (float) mean[ch];
            lo[ch] = (float) (mean[ch] - hi[ch]);
            // Bounded in ch: with a shift of hundreds, y near 1 would be a float cancellation, not a kernel error.
            scale[ch] = (float) (1 / Math.sqrt(var[ch] + 1e-5)) * (1 + ch % 7);
            shift[ch] = 0.5f * (ch % 7) - 1;
        }
        float[] want = new float[size];
        scalar.affine(x, 0, want, 0, n, channels, s, 0, channels, hi, lo, scale, shift);
        float[] got = new float[size];
        float[] fused = new float[size];
        for (int[] r : ranges) {
            vector.affine(x, 0, got, 0, n, channels, s, r[0], r[1], hi, lo, scale, shift);
            vector.affineFused(x, 0, dy, 0, fused, 0, n, channels, s, r[0], r[1], hi, lo, scale, shift, true);
        }
        close(want, got, tag + " affine");
        float[] wantFused = new float[size];
        scalar.affineFused(x, 0, dy, 0, wantFused, 0, n, channels, s, 0, channels, hi, lo, scale, shift, true);
        close(wantFused, fused, tag + " fused");
        float[] reluOnly = new float[size];
        for (int[] r : ranges) {
            vector.affineFused(x, 0, null, 0, reluOnly, 0, n, channels, s, r[0], r[1], hi, lo, scale, shift, true);
        }
        float[] wantRelu = new float[size];
        scalar.affineFused(x, 0, null, 0, wantRelu, 0, n, channels, s, 0, channels, hi, lo, scale, shift, true);
        close(wantRelu, reluOnly, tag + " relu");

        double[] sumDy = new double[channels];
        double[] sumDyC = new double[channels];
        scalar.gradientSums(dy, 0, x, 0, n, channels, s, 0, channels, hi, sumDy, sumDyC);
        double[] gotDy = sentinel(channels);
        double[] gotDyC = sentinel(channels);
        for (int[] r : ranges) {
            vector.gradientSums(dy, 0, x, 0, n, channels, s, r[0], r[1], hi, gotDy, gotDyC);
        }
        close(sumDy, gotDy, tag + " sum dy");
        close(sumDyC, gotDyC, tag + " sum dy xc");

        double[] a = new double[channels];
        double[] b = new double[channels];
        double[] d = new double[channels];
        for (int ch = 0; ch < channels; ch++) {
            a[ch] = 1.5 + ch;
            b[ch] = 0.25 * ch;
            d[ch] = -0.5 + 0.1 * ch;
        }
        float[] wantDx = new float[size];
        scalar.gradientInput(dy, 0, x, 0, wantDx, 0, n, channels, s, 0, channels, hi, a, b, d);
        float[] gotDx = new float[size];
        for (int[] r : ranges) {
            vector.gradientInput(dy, 0, x, 0, gotDx, 0, n, channels, s, r[0], r[1], hi, a, b, d);
        }
        close(wantDx, gotDx, tag + " dx");

        // The segment twins: the same bits as the array passes, range by range, at an element offset.
        try (Arena arena = Arena.ofConfined()) {
            long off = 3;
            MemorySegment xs = arena.allocate((size + off) * Float.BYTES, 64);
            MemorySegment dys = arena.allocate((size + off) * Float.BYTES, 64);
            MemorySegment ys = arena.allocate((size + off) * Float.BYTES, 64);
            MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, off * Float.BYTES, size);
            MemorySegment.copy(dy, 0, dys, ValueLayout.JAVA_FLOAT, off * Float.BYTES, size);
            for (int[] r : ranges) {
                segments.affine(xs, off, ys, off, n, channels, s, r[0], r[1], hi, lo, scale, shift);
            }
            assertArrayEquals(got, ys.asSlice(off * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT),
                    tag + " segment affine");
            double[] segDy = sentinel(channels);
            double[] segDyC = sentinel(channels);
            for (int[] r : ranges) {
                segments.gradientSums(dys, off, xs, off, n, channels, s, r[0], r[1], hi, segDy, segDyC);
                segments.gradientInput(dys, off, xs, off, ys, off, n, channels, s, r[0], r[1], hi, a, b, d);
            }
            assertArrayEquals(gotDy, segDy, tag + " segment sum dy");
            assertArrayEquals(gotDyC, segDyC, tag + " segment sum dy xc");
            assertArrayEquals(gotDx, ys.asSlice(off * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT),
                    tag + " segment dx");
        }
    }

    @Test
    void channelsWithNanOrInfinityGetTheReferencesStatistics() {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        for (int s : RUNS) {
            NcsShape sh = new NcsShape(N, C, s);
            float[] x = Distribution.NORMAL.tensor(sh, 40 + s);
            x[(C + 1) * s] = Float.NaN;                      // channel 1 of sample 1
            x[(2 * C + 4) * s] = Float.POSITIVE_INFINITY;    // channel 4 of sample 2
            x[(2 * C + 5) * s] = Float.POSITIVE_INFINITY;    // channel 5: +inf and -inf
            x[5 * s] = Float.NEGATIVE_INFINITY;
            double[] mean = new double[C];
            double[] var = new double[C];
            scalar.moments(x, 0, N, C, s, 0, C, mean, var);
            double[] vm = new double[C];
            double[] vv = new double[C];
            vector.moments(x, 0, N, C, s, 0, C, vm, vv);
            for (int ch = 0; ch < C; ch++) {
                String what = "s=" + s + " channel " + ch;
                if (Double.isFinite(mean[ch]) && Double.isFinite(var[ch])) {
                    assertTrue(Math.abs(mean[ch] - vm[ch]) <= 1e-9 * (1 + Math.abs(mean[ch])), what);
                } else {
                    assertTrue(Double.compare(mean[ch], vm[ch]) == 0, what + " mean " + vm[ch] + " vs " + mean[ch]);
                    assertTrue(Double.compare(var[ch], vv[ch]) == 0, what + " var " + vv[ch] + " vs " + var[ch]);
                }
            }
            assertTrue(Double.isNaN(vm[1]) && Double.isInfinite(vm[4]) && Double.isNaN(vm[5]), "s=" + s);
        }
    }
}
