package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ChannelMoments: the statistics pass against float64, Chan's merge (exact with empty sides, associative within
 * rounding, deterministic in a fixed order), the binary form and its rejections, conversions to running stats.
 */
class ChannelMomentsTest {

    private static final double TOLERANCE = 1e-12;

    /** float64 two-pass moments of a channels-first tensor: count, mean, M2. */
    private static ChannelMoments reference(NcsShape sh, float[] x) {
        double[] mean = Float64Reference.mean(sh, x);
        double[] variance = Float64Reference.variance(sh, x, mean);
        double[] m2 = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            m2[ch] = variance[ch] * sh.perChannel();
        }
        return ChannelMoments.of(sh.perChannel(), mean, m2);
    }

    private static void assertClose(ChannelMoments expected, ChannelMoments actual, double relative) {
        assertEquals(expected.channels(), actual.channels(), "channels");
        assertEquals(expected.count(), actual.count(), "count");
        for (int ch = 0; ch < expected.channels(); ch++) {
            double scale = Math.sqrt(expected.m2(ch) / Math.max(1, expected.count())) + Math.abs(expected.mean(ch));
            assertEquals(expected.mean(ch), actual.mean(ch), relative * scale + 1e-300, "mean of channel " + ch);
            assertEquals(expected.m2(ch), actual.m2(ch), relative * expected.m2(ch) + 1e-300, "m2 of channel " + ch);
        }
    }

    /** x channels-last (N, spatial, C) from its channels-first form (N, C, S). */
    private static float[] channelsLast(NcsShape sh, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    out[(i * sh.s() + j) * sh.c() + ch] = x[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"2,3,5,7", "4,17,6,6", "64,5", "1,3,1", "8,64,72,72"})
    void matchesFloat64InBothLayouts(String dims) {
        int[] shape = Arrays.stream(dims.split(",")).mapToInt(Integer::parseInt).toArray();
        NcsShape sh = NcsShape.of(shape);
        float[] x = Distribution.values()[0].tensor(sh, 42);
        for (int k = 0; k < x.length; k++) {
            x[k] = x[k] * 3f + 100f; // an offset: a naive sum of squares would lose the variance
        }
        ChannelMoments expected = reference(sh, x);
        assertClose(expected, ChannelMoments.of(Layout.CHANNELS_FIRST, shape, x, 0), TOLERANCE);
        assertClose(expected, ChannelMoments.of(Layout.CHANNELS_LAST, shape, channelsLast(sh, x), 0), TOLERANCE);
        assertClose(expected, BatchNormOps.using(Backend.scalarReference()).moments(Layout.CHANNELS_FIRST, shape, x, 0),
                TOLERANCE);
    }

    @Test
    void sameMeanAndVarianceAsTrainingForward() {
        int[] shape = {8, 64, 72, 72}; // large enough to be sliced along N
        float[] x = Distribution.values()[0].tensor(NcsShape.of(shape), 7);
        float[] saveMean = new float[64];
        BatchNormOps.get().forwardTraining(shape, x, 0, new float[x.length], 0, null, null, 0.0, saveMean, null,
                null);
        ChannelMoments moments = ChannelMoments.of(Layout.CHANNELS_FIRST, shape, x, 0);
        for (int ch = 0; ch < 64; ch++) {
            assertEquals(saveMean[ch], (float) moments.mean(ch), "channel " + ch);
        }
    }

    @Test
    void offHeapSegmentGivesTheArrayResult() {
        int[] shape = {3, 4, 5, 6};
        float[] x = Distribution.values()[0].tensor(NcsShape.of(shape), 3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate((long) (x.length + 1) * Float.BYTES, Float.BYTES);
            MemorySegment.copy(x, 0, segment, ValueLayout.JAVA_FLOAT, Float.BYTES, x.length);
            assertEquals(ChannelMoments.of(Layout.CHANNELS_FIRST, shape, x, 0),
                    ChannelMoments.of(Layout.CHANNELS_FIRST, shape, segment, 1));
            assertEquals(ChannelMoments.of(Layout.CHANNELS_FIRST, shape, x, 0),
                    ChannelMoments.of(Layout.CHANNELS_FIRST, shape, MemorySegment.ofArray(x), 0));
        }
    }

    /** The tensor cut along N into pieces, merged left to right: the moments of the whole within rounding. */
    @Test
    void mergedPiecesMatchTheWholeAndFloat64() {
        int[] shape = {10, 3, 4, 4};
        NcsShape sh = NcsShape.of(shape);
        float[] x = Distribution.values()[0].tensor(sh, 11);
        int row = 3 * 16;
        List<ChannelMoments> pieces = new ArrayList<>();
        for (int[] cut : new int[][] {{0, 1}, {1, 4}, {4, 9}, {9, 10}}) {
            pieces.add(ChannelMoments.of(Layout.CHANNELS_FIRST, new int[] {cut[1] - cut[0], 3, 4, 4}, x,
                    cut[0] * row));
        }
        ChannelMoments merged = ChannelMoments.mergeAll(pieces);
        assertClose(reference(sh, x), merged, TOLERANCE);
        // The same order gives the same bits, every time.
        assertEquals(merged, ChannelMoments.mergeAll(new ArrayList<>(pieces)));
        // Another tree agrees within rounding.
        ChannelMoments other = pieces.get(0).merge(pieces.get(1).merge(pieces.get(2).merge(pieces.get(3))));
        assertClose(merged, other, TOLERANCE);
        ChannelMoments reversed = pieces.get(3).merge(pieces.get(2)).merge(pieces.get(1)).merge(pieces.get(0));
        assertClose(merged, reversed, TOLERANCE);
    }

    @Test
    void emptySideIsExact() {
        ChannelMoments some = ChannelMoments.of(3, new double[] {1.5, -2}, new double[] {0.25, 7});
        ChannelMoments empty = ChannelMoments.empty(2);
        assertSame(some, some.merge(empty));
        assertSame(some, empty.merge(some));
        assertEquals(empty, empty.merge(ChannelMoments.empty(2)));
        assertEquals(0, empty.count());
    }

    @Test
    void mergeOfTwoKnownSets() {
        // {1, 3} and {5}: mean 3, M2 = 4 + 0 + 4 = 8.
        ChannelMoments a = ChannelMoments.of(2, new double[] {2}, new double[] {2});
        ChannelMoments b = ChannelMoments.of(1, new double[] {5}, new double[] {0});
        ChannelMoments ab = a.merge(b);
        assertEquals(3, ab.count());
        assertEquals(3.0, ab.mean(0));
        assertEquals(8.0, ab.m2(0));
        assertArrayEquals(new double[] {8.0 / 3}, ab.variance());
        assertArrayEquals(new double[] {4.0}, ab.unbiasedVariance());
        assertArrayEquals(new double[] {2.0}, ab.unbiasedStd());
        assertArrayEquals(new double[] {Math.sqrt(8.0 / 3)}, ab.std());
    }

    @Test
    void mismatchedChannelsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChannelMoments.empty(3).merge(ChannelMoments.empty(4)));
        assertEquals("cannot merge moments of 3 channels with moments of 4 channels", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ChannelMoments.empty(3).merge(null));
        assertThrows(IllegalArgumentException.class, () -> ChannelMoments.mergeAll(List.of()));
    }

    @Test
    void roundTripOfTheBinaryForm() {
        ChannelMoments m = ChannelMoments.of(Layout.CHANNELS_LAST, new int[] {5, 3, 2},
                Distribution.values()[0].tensor(NcsShape.of(5, 3, 2), 5), 0);
        byte[] bytes = m.toBytes();
        assertEquals(ChannelMoments.byteLength(3), bytes.length);
        assertEquals(4 + 1 + 4 + 8 + 16 * 3, bytes.length);
        assertEquals("VNCM", new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(1, bytes[4]);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(3, le.getInt(5));
        assertEquals(10L, le.getLong(9));
        assertEquals(m.mean(0), le.getDouble(17));
        ChannelMoments back = ChannelMoments.fromBytes(bytes);
        assertEquals(m, back);
        assertEquals(m.hashCode(), back.hashCode());
        assertEquals(ChannelMoments.empty(2), ChannelMoments.fromBytes(ChannelMoments.empty(2).toBytes()));
        ChannelMoments nan = ChannelMoments.of(2, new double[] {Double.NaN}, new double[] {Double.NaN});
        assertEquals(nan, ChannelMoments.fromBytes(nan.toBytes()));
    }

    @Test
    void badBytesAreRejectedWithTheReason() {
        byte[] good = ChannelMoments.of(4, new double[] {1, 2}, new double[] {3, 4}).toBytes();
        assertMessage("bytes must not be null", () -> ChannelMoments.fromBytes(null));
        assertMessage("bytes has length 3, shorter than the 17-byte header of ChannelMoments",
                () -> ChannelMoments.fromBytes(new byte[3]));
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertMessage("bytes do not start with the ChannelMoments magic \"VNCM\", got 0x584e434d",
                () -> ChannelMoments.fromBytes(magic));
        byte[] version = good.clone();
        version[4] = 2;
        assertMessage("ChannelMoments format version 2 is not supported; this version reads 1",
                () -> ChannelMoments.fromBytes(version));
        assertMessage("bytes has length 48, but 2 channels take 49",
                () -> ChannelMoments.fromBytes(Arrays.copyOf(good, 48)));
        byte[] channels = good.clone();
        channels[5] = 0;
        assertMessage("bytes declare 0 channels", () -> ChannelMoments.fromBytes(channels));
        byte[] negativeM2 = good.clone();
        ByteBuffer.wrap(negativeM2).order(ByteOrder.LITTLE_ENDIAN).putDouble(17 + 16, -1.0);
        assertMessage("m2[0] must be >= 0, got -1.0", () -> ChannelMoments.fromBytes(negativeM2));
        byte[] negativeCount = good.clone();
        ByteBuffer.wrap(negativeCount).order(ByteOrder.LITTLE_ENDIAN).putLong(9, -4);
        assertMessage("count must be >= 0, got -4", () -> ChannelMoments.fromBytes(negativeCount));
        byte[] emptyWithMean = good.clone();
        ByteBuffer.wrap(emptyWithMean).order(ByteOrder.LITTLE_ENDIAN).putLong(9, 0);
        assertMessage("count is 0 but channel 0 has mean 1.0 and m2 3.0; moments of no values are 0",
                () -> ChannelMoments.fromBytes(emptyWithMean));
    }

    @Test
    void badArgumentsAreRejected() {
        assertMessage("channels must be >= 1, got 0", () -> ChannelMoments.empty(0));
        assertMessage("mean has length 2 and m2 has length 1; both must be the channel count, at least 1",
                () -> ChannelMoments.of(2, new double[2], new double[1]));
        assertMessage("layout must not be null", () -> ChannelMoments.of(null, new int[] {2, 2}, new float[4], 0));
        assertMessage("x offset 1 + size 4 of shape [N=2, C=2, S=1] runs past its length 4",
                () -> ChannelMoments.of(Layout.CHANNELS_FIRST, new int[] {2, 2}, new float[4], 1));
        IllegalStateException tooFew = assertThrows(IllegalStateException.class,
                () -> ChannelMoments.of(1, new double[] {1}, new double[] {0}).unbiasedVariance());
        assertTrue(tooFew.getMessage().contains("have 1"), tooFew.getMessage());
        assertThrows(IllegalStateException.class, () -> ChannelMoments.empty(1).variance());
    }

    @Test
    void runningStatisticsFollowEachConvention() {
        // {1, 3} and {5}: mean 3, biased variance 8/3, unbiased 4.
        ChannelMoments m = ChannelMoments.of(3, new double[] {3}, new double[] {8});
        RunningStats torch = m.toRunningStats(RunningStatsConvention.PYTORCH, 0.1);
        assertEquals(3f, torch.mean()[0]);
        assertEquals(4f, torch.variance()[0]);
        RunningStats onnx = m.toRunningStats(RunningStatsConvention.ONNX, 0.9);
        assertEquals((float) (8.0 / 3), onnx.variance()[0]);

        // One update with these moments as a batch: what a training forward over {1, 3, 5} does.
        float[] x = {1, 3, 5};
        RunningStats byForward = RunningStats.pytorch(new float[] {0.5f}, new float[] {2f}, 0.1);
        BatchNormOps.get().forwardTraining(new int[] {3, 1}, x, 0, new float[3], 0, null, null, 1e-5, null, null,
                byForward);
        RunningStats byMoments = RunningStats.pytorch(new float[] {0.5f}, new float[] {2f}, 0.1);
        m.updateRunningStats(byMoments);
        assertArrayEquals(byForward.mean(), byMoments.mean());
        assertArrayEquals(byForward.variance(), byMoments.variance());

        BatchNorm layer = new BatchNorm(1);
        m.applyTo(layer);
        assertEquals(3f, layer.runningMean()[0]);
        assertEquals(4f, layer.runningVar()[0]);
        assertMessage("layer has 2 features, these moments have 1 channels", () -> m.applyTo(new BatchNorm(2)));
    }

    @Test
    void equalityIsBitwise() {
        ChannelMoments a = ChannelMoments.of(2, new double[] {1}, new double[] {0.5});
        assertEquals(a, ChannelMoments.of(2, new double[] {1}, new double[] {0.5}));
        assertNotEquals(a, ChannelMoments.of(3, new double[] {1}, new double[] {0.5}));
        assertNotEquals(a, ChannelMoments.of(2, new double[] {Math.nextUp(1.0)}, new double[] {0.5}));
        assertNotEquals(a, ChannelMoments.of(2, new double[] {1}, new double[] {0.25}));
        double[] mean = {1};
        ChannelMoments copied = ChannelMoments.of(2, mean, new double[] {0.5});
        mean[0] = 9;
        a.mean()[0] = 9;
        assertEquals(a, copied, "the value copies its arrays in and out");
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
