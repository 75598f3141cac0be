package dev.vecnorm.spark;

import static dev.vecnorm.spark.ChannelStatisticsTest.frame;
import static dev.vecnorm.spark.ChannelStatisticsTest.messages;
import static dev.vecnorm.spark.ChannelStatisticsTest.tensors;
import static dev.vecnorm.spark.ChannelStatisticsTest.toChannelsLast;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark ML estimator and model: statistics and outputs against float64, both layouts, save and load. */
class ChannelStandardizerTest {

    /** float64 per-channel mean and unbiased std of channels-first rows. */
    private static double[][] float64(List<float[]> tensors, int channels, int spatial) {
        double[][] moments = ChannelStatisticsTest.float64(tensors, channels, spatial);
        double[] std = new double[channels];
        long count = (long) tensors.size() * spatial;
        for (int ch = 0; ch < channels; ch++) {
            std[ch] = Math.sqrt(moments[1][ch] / (count - 1));
        }
        return new double[][] {moments[0], std};
    }

    /** The output column by id, as float[] rows. */
    private static float[][] outputs(Dataset<Row> transformed, String column, int rows) {
        float[][] out = new float[rows][];
        for (Row row : transformed.select("id", column).collectAsList()) {
            List<Float> values = row.getList(1);
            float[] x = new float[values.size()];
            for (int k = 0; k < x.length; k++) {
                x[k] = values.get(k);
            }
            out[row.getInt(0)] = x;
        }
        return out;
    }

    @Test
    void learnsAndAppliesFloat64Statistics() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(41, 3, 20, 11);
        ChannelStandardizerModel model = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(3, 4, 5).fit(frame(spark, tensors, 3));
        double[][] expected = float64(tensors, 3, 20);
        for (int ch = 0; ch < 3; ch++) {
            assertEquals(expected[0][ch], model.mean()[ch], 1e-12 * (1 + Math.abs(expected[0][ch])));
            assertEquals(expected[1][ch], model.std()[ch], 1e-12 * expected[1][ch]);
        }
        float[][] z = outputs(model.transform(frame(spark, tensors, 3)), "z", tensors.size());
        for (int r = 0; r < tensors.size(); r++) {
            for (int k = 0; k < 60; k++) {
                int ch = k / 20;
                double exact = (tensors.get(r)[k] - expected[0][ch]) / expected[1][ch];
                assertEquals(exact, z[r][k], 1e-5 * (1 + Math.abs(exact)), "row " + r + " element " + k);
            }
        }
    }

    @Test
    void channelsLastGivesTheTransposedResult() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(17, 4, 6, 12);
        List<float[]> last = toChannelsLast(tensors, 4, 6);
        ChannelStandardizerModel first = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(4, 2, 3).fit(frame(spark, tensors, 2));
        ChannelStandardizerModel model = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(4, 2, 3).setLayout("channelsLast").fit(frame(spark, last, 2));
        assertArrayEquals(first.mean(), model.mean(), 1e-9);
        float[][] zFirst = outputs(first.transform(frame(spark, tensors, 2)), "z", 17);
        float[][] zLast = outputs(model.transform(frame(spark, last, 2)), "z", 17);
        assertEquals(toChannelsLast(Arrays.asList(zFirst), 4, 6).stream().map(Arrays::toString).toList(),
                Arrays.stream(zLast).map(Arrays::toString).toList());
    }

    @Test
    void withoutMeanAndZeroStdChannels() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            tensors.add(new float[] {r, 2 * r, 5, 5}); // channel 1 (the two 5s) is constant
        }
        ChannelStandardizerModel model = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(2, 2).setWithMean(false).fit(frame(spark, tensors, 2));
        float[][] z = outputs(model.transform(frame(spark, tensors, 2)), "z", 4);
        double std0 = model.std()[0];
        assertEquals(0.0, model.std()[1]);
        assertArrayEquals(new float[] {(float) (3 / std0), (float) (6 / std0), 0, 0}, z[3], 1e-6f);
    }

    @Test
    void wrongLengthRowInTransformIsNamed() {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = new ArrayList<>(tensors(5, 2, 3, 13));
        ChannelStandardizerModel model = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(2, 3).fit(frame(spark, tensors, 1));
        tensors.set(3, new float[5]);
        Exception e = assertThrows(Exception.class, () -> model.transform(frame(spark, tensors, 1)).collect());
        assertTrue(messages(e).contains("row 3 of partition 0 has 5 floats, expected 6"), messages(e));
        assertEquals("output column 'x' exists already", assertThrows(IllegalArgumentException.class,
                () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setOutputCol("x")
                        .transform(frame(spark, tensors, 1))).getMessage());
    }

    @Test
    void saveAndLoadRoundTrip(@TempDir Path dir) throws Exception {
        SparkSession spark = SparkSessions.local2();
        List<float[]> tensors = tensors(12, 2, 4, 14);
        ChannelStandardizer estimator = new ChannelStandardizer().setInputCol("x").setOutputCol("z")
                .setShape(2, 2, 2).setLayout("channelsLast").setWithStd(false);
        estimator.save(dir.resolve("estimator").toString());
        ChannelStandardizer loadedEstimator = ChannelStandardizer.load(dir.resolve("estimator").toString());
        assertEquals(estimator.uid(), loadedEstimator.uid());
        assertEquals("x", loadedEstimator.getOrDefault(loadedEstimator.inputCol()));
        assertEquals("z", loadedEstimator.getOrDefault(loadedEstimator.outputCol()));
        assertArrayEquals(new int[] {2, 2, 2}, loadedEstimator.getOrDefault(loadedEstimator.shape()));
        assertEquals("channelsLast", loadedEstimator.getOrDefault(loadedEstimator.layout()));
        assertEquals(false, loadedEstimator.getOrDefault(loadedEstimator.withStd()));
        assertEquals(true, loadedEstimator.getOrDefault(loadedEstimator.withMean()));

        ChannelStandardizerModel model = loadedEstimator.fit(frame(spark, tensors, 2));
        model.save(dir.resolve("model").toString());
        ChannelStandardizerModel loaded = ChannelStandardizerModel.load(dir.resolve("model").toString());
        assertEquals(model.moments(), loaded.moments());
        assertEquals(model.uid(), loaded.uid());
        assertEquals("channelsLast", loaded.getOrDefault(loaded.layout()));
        assertArrayEquals(new int[] {2, 2, 2}, loaded.getOrDefault(loaded.shape()));
        assertArrayEquals(outputs(model.transform(frame(spark, tensors, 2)), "z", 12),
                outputs(loaded.transform(frame(spark, tensors, 2)), "z", 12));

        // Inside a Pipeline: Spark ML finds the stage's reader by reflection.
        PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {estimator})
                .fit(frame(spark, tensors, 2));
        pipeline.save(dir.resolve("pipeline").toString());
        PipelineModel reloaded = PipelineModel.load(dir.resolve("pipeline").toString());
        assertEquals(model.moments(), ((ChannelStandardizerModel) reloaded.stages()[0]).moments());
    }
}
