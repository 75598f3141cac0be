package dev.vecnorm.bench.jmh;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.bench.Floor;
import dev.vecnorm.bench.PlainJavaBatchNorm;
import dev.vecnorm.kernels.Kernels;
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
 * Training forward (statistics + normalize, and statistics alone), single thread, against the streaming floor
 * {@code y = a*x + b} over the same bytes, the readable scalar reference and the best plain-Java loop.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class TrainingForwardBenchmark {

    // DESIGN.md: ResNet-50 BN layers at batch 32, BatchNorm1d, batch 1, small C with long runs.
    @Param({"32x64x56x56", "32x256x56x56", "32x512x28x28", "32x1024x14x14", "32x2048x7x7", "256x1024", "1x64x56x56",
        "8x3x224x224"})
    public String shape;

    /** Threads for vecnorm (both kernels) and the floor; 0 = all available processors. The plain loop has one. */
    @Param({"1", "0"})
    public int threads;

    private ForkJoinPool pool;
    private int workers;

    private BenchShape sh;
    private float[] x;
    private float[] y;
    private float[] gamma;
    private float[] beta;
    private float[] mean;
    private float[] invStd;
    private double[] meanD;
    private double[] varD;
    private BatchNormOps vector;
    private BatchNormOps scalar;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        y = new float[sh.ncs.size()];
        gamma = BenchShape.random(sh.ncs.c(), 2, 1f);
        beta = BenchShape.random(sh.ncs.c(), 3, 0f);
        mean = new float[sh.ncs.c()];
        invStd = new float[sh.ncs.c()];
        meanD = new double[sh.ncs.c()];
        varD = new double[sh.ncs.c()];
        workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        vector = BatchNormOps.using(Kernels.vector().orElseThrow()).parallel(pool);
        scalar = BatchNormOps.using(Kernels.scalar()).parallel(pool);
        float[] expected = new float[y.length];
        scalar.forwardTraining(sh.dims, x, 0, expected, 0, gamma, beta, 1e-5, mean, invStd, null);
        vector.forwardTraining(sh.dims, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
        BenchShape.requireAgreement("vector", expected, y, 1e-5);
        PlainJavaBatchNorm.forwardTraining(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), x, y, gamma, beta, 1e-5, mean,
                invStd);
        BenchShape.requireAgreement("plain loop", expected, y, 1e-3);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine(x, y, 1.0001f, 0.5f, pool, workers);
        return y;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.forwardTraining(sh.dims, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
        return y;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.forwardTraining(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), x, y, gamma, beta, 1e-5, mean,
                invStd);
        return y;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.forwardTraining(sh.dims, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
        return y;
    }

    @Benchmark
    public double[] statsOnlyVector() {
        vector.kernels().moments(x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), meanD, varD);
        return varD;
    }

    @Benchmark
    public double[] statsOnlyScalarReference() {
        scalar.kernels().moments(x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), meanD, varD);
        return varD;
    }

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }
}
