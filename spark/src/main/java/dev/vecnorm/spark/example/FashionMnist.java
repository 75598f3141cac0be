package dev.vecnorm.spark.example;

import dev.vecnorm.ChannelMoments;
import dev.vecnorm.spark.ChannelStandardizer;
import dev.vecnorm.spark.ChannelStandardizerModel;
import dev.vecnorm.spark.ChannelStatistics;
import dev.vecnorm.spark.TensorShape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.stat.Summarizer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Fashion-MNIST on Spark, read straight from its IDX files.
 *
 * <pre>
 * stats [dir] [master]   the training set's mean and std through Spark (vecnorm), beside float64 from the files,
 *                        then the training set normalized with the fitted ChannelStandardizer
 * bench [dir]            per-channel and per-feature statistics with vecnorm beside Spark ML's Summarizer and
 *                        StandardScaler on the same cached DataFrame, at local[1] and local[2]
 * </pre>
 * dir defaults to /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
 */
public final class FashionMnist {

    private static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";
    private static final String TRAIN = "train-images-idx3-ubyte.gz";
    /** Same partitioning at every core count: the vecnorm results then have the same bits. */
    private static final int PARTITIONS = 4;
    private static final int WARMUP = 2;
    private static final int RUNS = 5;

    private FashionMnist() {
    }

    public static void main(String[] args) throws Exception {
        String command = args.length > 0 ? args[0] : "stats";
        Path file = Path.of(args.length > 1 ? args[1] : DEFAULT_DIR).resolve(TRAIN);
        switch (command) {
            case "stats" -> stats(file, args.length > 2 ? args[2] : "local[2]");
            case "bench" -> bench(file);
            default -> {
                System.err.println("usage: FashionMnist stats|bench [dir] [master]");
                System.exit(2);
            }
        }
    }

    static SparkSession session(String master) {
        SparkSession spark = SparkSession.builder().master(master).appName("vecnorm-fashion-mnist")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    /**
     * The images as a DataFrame (id int, x array&lt;float&gt;), each partition reading its own slice of the file:
     * on a cluster the file must be at the same path on every executor (the Debian package, or --files).
     */
    static Dataset<Row> images(SparkSession spark, Path file, int partitions) throws IOException {
        int total = Idx.header(file).images();
        String path = file.toString();
        List<Integer> slices = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            slices.add(p);
        }
        JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(slices, partitions)
                .flatMap(p -> {
                    int from = (int) ((long) total * p / partitions);
                    int to = (int) ((long) total * (p + 1) / partitions);
                    Idx.Header h = Idx.header(Path.of(path));
                    float[] all;
                    try {
                        all = Idx.images(Path.of(path), from, to);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    List<Row> out = new ArrayList<>(to - from);
                    for (int i = from; i < to; i++) {
                        int at = (i - from) * h.pixels();
                        out.add(RowFactory.create(i, Arrays.copyOfRange(all, at, at + h.pixels())));
                    }
                    return out.iterator();
                });
        StructType schema = new StructType().add("id", DataTypes.IntegerType, false)
                .add("x", DataTypes.createArrayType(DataTypes.FloatType, false), false);
        return spark.createDataFrame(rows, schema);
    }

    /**
     * float64 two-pass statistics of the file: {{global mean, global M2, count}, per-pixel means, per-pixel M2s}.
     * Sums are compensated (Kahan) per pixel, and the global moments come from the per-pixel ones (M2 = sum of
     * the pixels' M2 + n * sum of (pixel mean - global mean)^2): a plain running sum of 47 million values would
     * itself be off in the 11th digit, worse than what it checks.
     */
    static double[][] float64(Path file) throws IOException {
        Idx.Header h = Idx.header(file);
        float[] x = Idx.images(file, 0, h.images());
        int p = h.pixels();
        long n = h.images();
        double[] mean = new double[p];
        double[] m2 = new double[p];
        for (int j = 0; j < p; j++) {
            double sum = 0;
            double lost = 0;
            for (int i = 0; i < n; i++) {
                double y = x[i * p + j] - lost;
                double t = sum + y;
                lost = (t - sum) - y;
                sum = t;
            }
            mean[j] = sum / n;
            double squares = 0;
            lost = 0;
            for (int i = 0; i < n; i++) {
                double d = x[i * p + j] - mean[j];
                double y = d * d - lost;
                double t = squares + y;
                lost = (t - squares) - y;
                squares = t;
            }
            m2[j] = squares;
        }
        double globalMean = 0;
        for (int j = 0; j < p; j++) {
            globalMean += mean[j];
        }
        globalMean /= p;
        double globalM2 = 0;
        for (int j = 0; j < p; j++) {
            double d = mean[j] - globalMean;
            globalM2 += m2[j] + n * d * d;
        }
        return new double[][] {{globalMean, globalM2, (double) n * p}, mean, m2};
    }

    static void stats(Path file, String master) throws IOException {
        Idx.Header h = Idx.header(file);
        double[][] exact = float64(file);
        SparkSession spark = session(master);
        Dataset<Row> data = images(spark, file, PARTITIONS).cache();
        long start = System.nanoTime();
        ChannelMoments moments = ChannelStatistics.of(data, "x", TensorShape.channelsFirst(1, h.rows(), h.columns()));
        double seconds = (System.nanoTime() - start) / 1e9;
        double exactStd = Math.sqrt(exact[0][1] / exact[0][2]);
        System.out.printf(Locale.ROOT, "Fashion-MNIST %s: %d images of %dx%d, pixels / 255, %s, %d partitions%n",
                file, h.images(), h.rows(), h.columns(), master, PARTITIONS);
        System.out.printf(Locale.ROOT, "%-31s %-22s %-22s%n", "", "mean", "std (biased)");
        System.out.printf(Locale.ROOT, "%-31s %-22.17g %-22.17g%n", "vecnorm on Spark", moments.mean(0),
                moments.std()[0]);
        System.out.printf(Locale.ROOT, "%-31s %-22.17g %-22.17g%n", "float64 (driver, compensated)", exact[0][0],
                exactStd);
        System.out.printf(Locale.ROOT, "%-31s %-22.3g %-22.3g%n", "relative difference",
                Math.abs(moments.mean(0) - exact[0][0]) / exact[0][0],
                Math.abs(moments.std()[0] - exactStd) / exactStd);
        System.out.printf(Locale.ROOT, "statistics job: %.2f s (first run, includes reading the files)%n", seconds);

        ChannelStandardizerModel model = new ChannelStandardizer().setInputCol("x").setOutputCol("normalized")
                .setShape(1, h.rows(), h.columns()).fit(data);
        Dataset<Row> normalized = model.transform(data);
        ChannelMoments after = ChannelStatistics.of(normalized, "normalized",
                TensorShape.channelsFirst(1, h.rows(), h.columns()));
        System.out.printf(Locale.ROOT, "normalized training set: mean %.3g, std %.6f (unbiased std used: %.17g)%n",
                after.mean(0), after.std()[0], model.std()[0]);
        spark.stop();
    }

    /** Median of the timed runs, after warm-up runs; returns seconds. */
    static double time(Runnable job) {
        for (int i = 0; i < WARMUP; i++) {
            job.run();
        }
        double[] seconds = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long start = System.nanoTime();
            job.run();
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        return seconds[RUNS / 2];
    }

    static void bench(Path file) throws IOException {
        Idx.Header h = Idx.header(file);
        double[][] exact = float64(file);
        int p = h.pixels();
        long n = h.images();
        double[] exactUnbiasedStd = new double[p];
        for (int j = 0; j < p; j++) {
            exactUnbiasedStd[j] = Math.sqrt(exact[2][j] / (n - 1));
        }
        System.out.printf(Locale.ROOT, "Fashion-MNIST train: %d images of %d pixels, %d partitions, cached "
                + "DataFrame (x array<float>, features vector); median of %d runs after %d warm-up%n", n, p,
                PARTITIONS, RUNS, WARMUP);
        System.out.printf(Locale.ROOT, "%-9s %-44s %9s %12s %14s %14s%n", "master", "method", "seconds", "rows/s",
                "max rel err mean", "max rel err std");
        ChannelMoments[] perFeatureByMaster = new ChannelMoments[2];
        String[] masters = {"local[1]", "local[2]"};
        for (int m = 0; m < masters.length; m++) {
            String master = masters[m];
            SparkSession spark = session(master);
            Dataset<Row> data = images(spark, file, PARTITIONS)
                    .withColumn("features", org.apache.spark.ml.functions.array_to_vector(functions.col("x")))
                    .cache();
            data.count();

            TensorShape perChannel = TensorShape.channelsFirst(1, h.rows(), h.columns());
            TensorShape perFeature = TensorShape.channelsFirst(p);
            ChannelMoments[] holder = new ChannelMoments[1];
            double t = time(() -> holder[0] = ChannelStatistics.of(data, "x", perChannel));
            ChannelMoments channel = holder[0];
            double exactStd = Math.sqrt(exact[0][1] / (exact[0][2] - 1));
            row(master, "vecnorm per-channel (1 x 28 x 28)", t, n, relErr(channel.mean(), new double[] {exact[0][0]}),
                    relErr(channel.unbiasedStd(), new double[] {exactStd}));

            t = time(() -> holder[0] = ChannelStatistics.of(data, "x", perFeature));
            ChannelMoments feature = holder[0];
            perFeatureByMaster[m] = feature;
            row(master, "vecnorm per-feature (784)", t, n, relErr(feature.mean(), exact[1]),
                    relErr(feature.unbiasedStd(), exactUnbiasedStd));

            Row[] summary = new Row[1];
            t = time(() -> summary[0] = data.select(Summarizer.metrics("mean", "std")
                    .summary(functions.col("features")).as("s")).select("s.mean", "s.std").first());
            row(master, "Spark ML Summarizer mean+std (784)", t, n,
                    relErr(((Vector) summary[0].get(0)).toArray(), exact[1]),
                    relErr(((Vector) summary[0].get(1)).toArray(), exactUnbiasedStd));

            StandardScalerModel[] scaler = new StandardScalerModel[1];
            t = time(() -> scaler[0] = new StandardScaler().setInputCol("features").setWithMean(true).fit(data));
            row(master, "Spark ML StandardScaler.fit (784)", t, n, relErr(scaler[0].mean().toArray(), exact[1]),
                    relErr(scaler[0].std().toArray(), exactUnbiasedStd));
            spark.stop();
        }
        System.out.println("vecnorm per-feature moments: local[1] and local[2] bitwise equal: "
                + perFeatureByMaster[0].equals(perFeatureByMaster[1]));
    }

    private static void row(String master, String method, double seconds, long rows, double meanErr,
            double stdErr) {
        System.out.printf(Locale.ROOT, "%-9s %-44s %9.3f %12.0f %14.2e %14.2e%n", master, method, seconds,
                rows / seconds, meanErr, stdErr);
    }

    /** Largest |actual - exact| / |exact| over entries whose exact value is not 0 (0 where both are 0). */
    private static double relErr(double[] actual, double[] exact) {
        double worst = 0;
        for (int j = 0; j < exact.length; j++) {
            double d = Math.abs(actual[j] - exact[j]);
            worst = Math.max(worst, exact[j] == 0 ? d : d / Math.abs(exact[j]));
        }
        return worst;
    }
}
