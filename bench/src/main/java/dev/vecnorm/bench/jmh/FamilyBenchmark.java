package dev.vecnorm.bench.jmh;

import dev.vecnorm.GroupNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.LayerNormOps;
import dev.vecnorm.RMSNormOps;
import dev.vecnorm.bench.Floor;
import java.util.Arrays;
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
 * The normalization family on the shapes its users run (issue 13), on {@code threads} threads (GroupNorm and
 * InstanceNorm spread samples, LayerNorm and RMSNorm blocks of rows): forward and backward against the
 * one-thread streaming floors over the same bytes (8 B/elem forward, 12 B/elem backward: the least any forward or
 * backward can move), and, for LayerNorm and RMSNorm, the plain Java loop JVM inference engines use today. Cases
 * are "op:shape": layer (last dim normalized), rms (last dim), group32 (32 groups), instance (GroupNorm with one channel per group); a "-nhwc" suffix runs the channels-last form
 * (diffusion models run GroupNorm channels-last).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class FamilyBenchmark {

    @Param({"layer:4096x768", "layer:2048x4096", "rms:1x4096", "rms:32x4096", "rms:2048x4096",
        "group32:8x256x64x64", "group32:2x512x32x32", "instance:8x64x128x128", "group32-nhwc:8x256x64x64",
        "instance-nhwc:8x64x128x128"})
    public String op;

    /** Threads for vecnorm's ops; 0 = all available processors. */
    @Param({"1"})
    public int threads;

    private GroupNormOps groupOps;
    private LayerNormOps layerOps;
    private RMSNormOps rmsOps;
    private ForkJoinPool pool;

    private String kind;
    private Layout layout;
    private int[] dims;
    private int rows;
    private int width;
    private int groups;
    private float[] x;
    private float[] dy;
    private float[] y;
    private float[] dx;
    private float[] gamma;
    private float[] beta;
    private float[] dGamma;
    private float[] dBeta;
    private float[] mean;
    private float[] invStd;

    @Setup
    public void setup() {
        int workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        groupOps = workers == 1 ? GroupNormOps.get().singleThreaded() : GroupNormOps.get().parallel(pool);
        layerOps = workers == 1 ? LayerNormOps.get().singleThreaded() : LayerNormOps.get().parallel(pool);
        rmsOps = workers == 1 ? RMSNormOps.get().singleThreaded() : RMSNormOps.get().parallel(pool);
        kind = op.substring(0, op.indexOf(':'));
        layout = kind.endsWith("-nhwc") ? Layout.CHANNELS_LAST : Layout.CHANNELS_FIRST;
        kind = kind.replace("-nhwc", "");
        dims = Arrays.stream(op.substring(op.indexOf(':') + 1).split("x")).mapToInt(Integer::parseInt).toArray();
        int size = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        boolean rowWise = kind.equals("layer") || kind.equals("rms");
        width = rowWise ? dims[dims.length - 1] : dims[1];
        int n = dims[0];
        groups = kind.equals("group32") ? 32 : kind.equals("instance") ? dims[1] : 0;
        rows = rowWise ? size / width : n * groups;
        x = BenchShape.random(size, 1, 0.5f);
        dy = BenchShape.random(size, 2, 0f);
        y = new float[size];
        dx = new float[size];
        gamma = BenchShape.random(width, 3, 1f);
        beta = BenchShape.random(width, 4, 0f);
        dGamma = new float[width];
        dBeta = new float[width];
        mean = new float[rows];
        invStd = new float[rows];
        forward();
        if (kind.equals("rms")) {
            float[] expected = y.clone();
            plainJavaLoop();
            BenchShape.requireAgreement("plain RMSNorm loop", expected, y, 1e-4);
        } else if (kind.equals("layer")) {
            float[] expected = y.clone();
            plainJavaLoop();
            BenchShape.requireAgreement("plain LayerNorm loop", expected, y, 1e-3);
        }
        forward();
    }

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }

    @Benchmark
    public float[] forward() {
        switch (kind) {
            case "layer" -> layerOps.forward(dims, -1, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
            case "rms" -> rmsOps.forward(dims, -1, x, 0, y, 0, gamma, 1e-6, invStd);
            default -> groupOps.forward(layout, dims, groups, x, 0, y, 0, gamma, beta, 1e-5, mean,
                    invStd);
        }
        return y;
    }

    @Benchmark
    public float[] backward() {
        switch (kind) {
            case "layer" -> layerOps.backward(dims, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dGamma,
                    dBeta);
            case "rms" -> rmsOps.backward(dims, -1, dy, 0, x, 0, gamma, invStd, dx, 0, dGamma);
            default -> groupOps.backward(layout, dims, groups, dy, 0, x, 0, gamma, mean, invStd, dx, 0,
                    dGamma, dBeta);
        }
        return dx;
    }

    /** Reads x, writes y: 8 B/elem, what any forward moves at least. */
    @Benchmark
    public float[] floorForward() {
        Floor.affine(x, y, 1.0001f, 0.5f);
        return y;
    }

    /** Reads x and dy, writes dx: 12 B/elem, what any backward moves at least. */
    @Benchmark
    public float[] floorBackward() {
        Floor.affine2(x, dy, dx, 1.0001f, 0.5f);
        return dx;
    }

    /**
     * The loops JVM LLM engines write (llama2.java's rmsnorm; LayerNorm likewise): float sums in a scalar loop,
     * which C2 does not vectorize since it may not reorder them. Only for the row-wise ops.
     */
    @Benchmark
    public float[] plainJavaLoop() {
        if (kind.equals("rms")) {
            for (int r = 0; r < rows; r++) {
                int at = r * width;
                float ss = 0f;
                for (int j = 0; j < width; j++) {
                    ss += x[at + j] * x[at + j];
                }
                float scale = 1f / (float) Math.sqrt(ss / width + 1e-6f);
                for (int j = 0; j < width; j++) {
                    y[at + j] = gamma[j] * (scale * x[at + j]);
                }
            }
        } else if (kind.equals("layer")) {
            for (int r = 0; r < rows; r++) {
                int at = r * width;
                float sum = 0f;
                for (int j = 0; j < width; j++) {
                    sum += x[at + j];
                }
                float m = sum / width;
                float ss = 0f;
                for (int j = 0; j < width; j++) {
                    float d = x[at + j] - m;
                    ss += d * d;
                }
                float scale = 1f / (float) Math.sqrt(ss / width + 1e-5f);
                for (int j = 0; j < width; j++) {
                    y[at + j] = (x[at + j] - m) * scale * gamma[j] + beta[j];
                }
            }
        }
        return y;
    }
}
