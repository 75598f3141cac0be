package dev.vecnorm.bench.jmh;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.bench.Floor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Channels-last against channels-first on the same logical tensors (issue 14's shapes: 32x56x56x256,
 * 32x28x28x512, 32x7x7x2048 in NHWC), and the fused epilogues against plain batch norm, beside the floors that
 * move the same bytes (8 B/elem; 12 B/elem with a residual).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class LayoutAndFusionBenchmark {

    /** Logical (N, C, H, W) shapes; the channels-last rows store them as N, H, W, C. */
    @Param({"32x256x56x56", "32x512x28x28", "32x2048x7x7"})
    public String shape;

    /** Threads for vecnorm and the floors; 0 = all available processors. */
    @Param({"1", "0"})
    public int threads;

    private BenchShape sh;
    private float[] x;
    private float[] z;
    private float[] dy;
    private float[] out;
    private float[] dx;
    private float[] gamma;
    private float[] beta;
    private float[] mean;
    private float[] invStd;
    private float[] variance;
    private float[] dgamma;
    private float[] dbeta;
    private ForkJoinPool pool;
    private int workers;
    private BatchNormOps ops;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        int size = sh.ncs.size();
        int c = sh.ncs.c();
        x = BenchShape.random(size, 1, 0.5f);
        z = BenchShape.random(size, 5, 0f);
        dy = BenchShape.random(size, 2, 0f);
        out = new float[size];
        dx = new float[size];
        gamma = BenchShape.random(c, 3, 1f);
        beta = BenchShape.random(c, 4, 0f);
        mean = new float[c];
        invStd = new float[c];
        variance = new float[c];
        java.util.Arrays.fill(variance, 1.5f);
        dgamma = new float[c];
        dbeta = new float[c];
        workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        ops = BatchNormOps.using(Backend.vector().orElseThrow()).parallel(pool);
        ops.forwardTraining(Layout.CHANNELS_LAST, sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
    }

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine(x, out, 1.0001f, 0.5f, pool, workers);
        return out;
    }

    /** Training's own floor: a read of x for the statistics, then read x and write y (12 B/elem, two passes). */
    @Benchmark
    public float floorTrainingTwoPasses() {
        return Floor.twoPasses(x, out, pool, workers);
    }

    /** Reads two tensors and writes one: the floor of the residual form. */
    @Benchmark
    public float[] floorTwelveBytes() {
        Floor.affine2(x, z, out, 1.0001f, 0.5f, pool, workers);
        return out;
    }

    @Benchmark
    public float[] trainingChannelsFirst() {
        ops.forwardTraining(Layout.CHANNELS_FIRST, sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
        return out;
    }

    @Benchmark
    public float[] trainingChannelsLast() {
        ops.forwardTraining(Layout.CHANNELS_LAST, sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
        return out;
    }

    @Benchmark
    public float[] inferenceChannelsLast() {
        ops.forwardInference(Layout.CHANNELS_LAST, sh.dims, x, 0, out, 0, gamma, beta, mean, variance, 1e-5);
        return out;
    }

    @Benchmark
    public float[] backwardChannelsLast() {
        ops.backward(Layout.CHANNELS_LAST, sh.dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        return dx;
    }

    @Benchmark
    public float[] trainingReluChannelsFirst() {
        ops.forwardTrainingFused(Layout.CHANNELS_FIRST, sh.dims, x, 0, null, 0, out, 0, gamma, beta, 1e-5, mean,
                invStd, null, true);
        return out;
    }

    @Benchmark
    public float[] inferenceChannelsFirst() {
        ops.forwardInference(Layout.CHANNELS_FIRST, sh.dims, x, 0, out, 0, gamma, beta, mean, variance, 1e-5);
        return out;
    }

    @Benchmark
    public float[] inferenceReluChannelsFirst() {
        ops.forwardInferenceFused(Layout.CHANNELS_FIRST, sh.dims, x, 0, null, 0, out, 0, gamma, beta, mean, variance,
                1e-5, true);
        return out;
    }

    @Benchmark
    public float[] inferenceResidualReluChannelsFirst() {
        ops.forwardInferenceFused(Layout.CHANNELS_FIRST, sh.dims, x, 0, z, 0, out, 0, gamma, beta, mean, variance,
                1e-5, true);
        return out;
    }
}
