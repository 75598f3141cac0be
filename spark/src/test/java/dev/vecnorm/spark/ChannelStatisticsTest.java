package dev.vecnorm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.ChannelMoments;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Per-channel statistics of a tensor column on Spark: equal to a float64 computation, the same bits for local[1]
 * and local[2], empty and one-row partitions, bad rows named.
 */
class ChannelStatisticsTest {

    static final StructType ARRAY_SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType)
            .add("x", DataTypes.createArrayType(DataTypes.FloatType, false));

    /** Rows of random tensors with a per-channel offset and scale, so that channels differ. */
    static List<float[]> tensors(int rows, int channels, int spatial, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<float[]> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            float[] x = new float[channels * spatial];
            for (int k = 0; k < x.length; k++) {
                int ch = k / spatial;
                x[k] = (float) (100 * ch + 0.5 + (ch + 1) * random.nextGaussian());
            }
            out.add(x);
        }
        return out;
    }

    static Dataset<Row> frame(SparkSession spark, List<float[]> tensors, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) {
            rows.add(RowFactory.create(i, tensors.get(i)));
        }
        return spark.createDataFrame(SparkSessions.context(spark).parallelize(rows, partitions), ARRAY_SCHEMA);
    }

    /** float64 two-pass moments, channels-first rows of C runs of `spatial` values. */
    static double[][] float64(List<float[]> tensors, int channels, int spatial) {
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        long count = (long) tensors.size() * spatial;
        for (float[] x : tensors) {
            for (int k = 0; k < x.length; k++) {
                mean[k / spatial] += x[k];
            }
        }
        for (int ch = 0; ch < channels; ch++) {
            mean[ch] /= count;
        }
        for (float[] x : tensors) {
            for (int k = 0; k < x.length; k++) {
                double d = x[k] - mean[k / spatial];
                m2[k / spatial] += d * d;
            }
        }
        return new double[][] {mean, m2};
    }

    static void assertMatchesFloat64(List<float[]> tensors, int channels, int spatial, ChannelMoments actual) {
        double[][] expected = float64(tensors, channels, spatial);
        assertEquals((long) tensors.size() * spatial, actual.count());
        for (int ch = 0; ch < channels; ch++) {
            double spread = Math.sqrt(expected[1][ch] / actual.count());
            assertEquals(expected[0][ch], actual.mean(ch), 1e-12 * (spread + Math.abs(expected[0][ch])),
                    "mean of channel " + ch);
            assertEquals(expected[1][ch], actual.m2(ch), 1e-10 * expected[1][ch], "m2 of channel " + ch);
        }
    }

    /** (N, spatial, C) rows from channels-first rows. */
    static List<float[]> toChannelsLast(List<float[]> tensors, int channels, int spatial) {
        List<float[]> out = new ArrayList<>();
        for (float[] x : tensors) {
            float[] y = new float[x.length];
            for (int ch = 0; ch < channels; ch++) {
                for (int j = 0; j < spatial; j++) {
                    y[j * channels + ch] = x[ch * spatial + j];
                }
            }
            out.add(y);
        }
        return out;
    }

    @Test
    void matchesFloat64InBothLayouts() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(37, 3, 20, 1);
        ChannelMoments first = ChannelStatistics.of(frame(spark, tensors, 4), "x", TensorShape.channelsFirst(3, 4, 5));
        assertMatchesFloat64(tensors, 3, 20, first);
        ChannelMoments last = ChannelStatistics.of(frame(spark, toChannelsLast(tensors, 3, 20), 3), "x",
                TensorShape.channelsLast(3, 4, 5));
        assertMatchesFloat64(tensors, 3, 20, last);
    }

    /** Enough rows for several engine batches per partition (1 MiB batches of 3x32x32 rows: 85 rows). */
    @Test
    void manyBatchesPerPartitionMatchFloat64() {
        List<float[]> tensors = tensors(400, 3, 1024, 2);
        ChannelMoments moments = ChannelStatistics.of(frame(SparkSessions.local2(), tensors, 2), "x",
                TensorShape.channelsFirst(3, 32, 32));
        assertMatchesFloat64(tensors, 3, 1024, moments);
    }

    @Test
    void sameBitsForOneAndTwoCores() {
        List<float[]> tensors = tensors(300, 4, 49, 3);
        TensorShape shape = TensorShape.channelsFirst(4, 7, 7);
        ChannelMoments two = ChannelStatistics.of(frame(SparkSessions.get("local[2]"), tensors, 5), "x", shape);
        ChannelMoments one = ChannelStatistics.of(frame(SparkSessions.get("local[1]"), tensors, 5), "x", shape);
        ChannelMoments twoAgain = ChannelStatistics.of(frame(SparkSessions.get("local[2]"), tensors, 5), "x", shape);
        assertEquals(two, one, "local[2] and local[1], same 5 partitions");
        assertEquals(two, twoAgain);
        assertMatchesFloat64(tensors, 4, 49, two);
    }

    @Test
    void emptyAndOneRowPartitions() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(3, 2, 6, 4);
        TensorShape shape = TensorShape.channelsFirst(2, 6);
        // 3 rows in 7 slices: empty partitions and one-row partitions.
        ChannelMoments sparse = ChannelStatistics.of(frame(spark, tensors, 7), "x", shape);
        assertMatchesFloat64(tensors, 2, 6, sparse);
        ChannelMoments single = ChannelStatistics.of(frame(spark, tensors.subList(0, 1), 2), "x", shape);
        assertMatchesFloat64(tensors.subList(0, 1), 2, 6, single);
        ChannelMoments none = ChannelStatistics.of(frame(spark, List.of(), 2), "x", shape);
        assertEquals(ChannelMoments.empty(2), none);
    }

    @Test
    void wrongLengthRowIsNamed() {
        List<float[]> tensors = new ArrayList<>(tensors(4, 2, 6, 5));
        tensors.set(2, Arrays.copyOf(tensors.get(2), 11));
        Exception e = assertThrows(Exception.class, () -> ChannelStatistics.of(frame(SparkSessions.local2(), tensors,
                1), "x", TensorShape.channelsFirst(2, 6)));
        assertTrue(messages(e).contains("row 2 of partition 0 has 11 floats, expected 12"), messages(e));
    }

    @Test
    void nullRowIsNamed() {
        SparkSession spark = SparkSessions.local2();
        List<Row> rows = List.of(RowFactory.create(0, new float[] {1, 2}), RowFactory.create(1, null));
        StructType schema = new StructType().add("id", DataTypes.IntegerType)
                .add("x", DataTypes.createArrayType(DataTypes.FloatType, true));
        Dataset<Row> data = spark.createDataFrame(SparkSessions.context(spark).parallelize(rows, 1), schema);
        Exception e = assertThrows(Exception.class,
                () -> ChannelStatistics.of(data, "x", TensorShape.channelsFirst(2)));
        assertTrue(messages(e).contains("row 1 of partition 0 is null"), messages(e));

        // A null element inside a row's array (the bitmap of Spark's unsafe array, read without boxing).
        List<Row> holes = List.of(RowFactory.create(0, new float[] {1, 2}),
                RowFactory.create(1, new Float[] {3f, null}));
        Dataset<Row> withHole = spark.createDataFrame(SparkSessions.context(spark).parallelize(holes, 1), schema);
        Exception hole = assertThrows(Exception.class,
                () -> ChannelStatistics.of(withHole, "x", TensorShape.channelsFirst(2)));
        assertTrue(messages(hole).contains("row 1 of partition 0 holds a null element"), messages(hole));
    }

    @Test
    void badColumnIsRejectedBeforeAnyJob() {
        Dataset<Row> data = frame(SparkSessions.local2(), tensors(2, 1, 2, 6), 1);
        TensorShape shape = TensorShape.channelsFirst(1, 2);
        assertEquals("column 'y' not found; columns are [id, x]",
                assertThrows(IllegalArgumentException.class, () -> ChannelStatistics.of(data, "y", shape))
                        .getMessage());
        assertEquals("column 'id' has type int; expected array<float> or binary (little-endian float32)",
                assertThrows(IllegalArgumentException.class, () -> ChannelStatistics.of(data, "id", shape))
                        .getMessage());
        assertEquals("row shape dims must be positive, got [3, 0]",
                assertThrows(IllegalArgumentException.class, () -> TensorShape.channelsFirst(3, 0)).getMessage());
    }

    @Test
    void binaryFloat32ColumnGivesTheArrayResult() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(20, 2, 8, 7);
        List<Row> rows = new ArrayList<>();
        for (float[] x : tensors) {
            ByteBuffer bytes = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(x);
            rows.add(RowFactory.create((Object) bytes.array()));
        }
        StructType schema = new StructType().add("raw", DataTypes.BinaryType);
        Dataset<Row> data = spark.createDataFrame(SparkSessions.context(spark).parallelize(rows, 3), schema);
        TensorShape shape = TensorShape.channelsFirst(2, 8);
        assertEquals(ChannelStatistics.of(frame(spark, tensors, 3), "x", shape),
                ChannelStatistics.of(data, "raw", shape));
    }

    /** Every message down the cause chain: Spark wraps a task's exception. */
    static String messages(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append(" | ");
        }
        return all.toString();
    }
}
