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

/** Inference with running statistics, single thread, against the streaming floor over the same bytes. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class InferenceBenchmark {

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
    private float[] var;
    private BatchNormOps vector;
    private BatchNormOps scalar;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        y = new float[sh.ncs.size()];
        gamma = BenchShape.random(sh.ncs.c(), 2, 1f);
        beta = BenchShape.random(sh.ncs.c(), 3, 0f);
        mean = BenchShape.random(sh.ncs.c(), 4, 0f);
        var = BenchShape.random(sh.ncs.c(), 5, 3f);
        for (int i = 0; i < var.length; i++) {
            var[i] = Math.abs(var[i]) + 0.1f;
        }
        workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        vector = BatchNormOps.using(Kernels.vector().orElseThrow()).parallel(pool);
        scalar = BatchNormOps.using(Kernels.scalar()).parallel(pool);
        float[] expected = new float[y.length];
        scalar.forwardInference(sh.dims, x, 0, expected, 0, gamma, beta, mean, var, 1e-5);
        vector.forwardInference(sh.dims, x, 0, y, 0, gamma, beta, mean, var, 1e-5);
        BenchShape.requireAgreement("vector", expected, y, 1e-5);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine(x, y, 1.0001f, 0.5f, pool, workers);
        return y;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.forwardInference(sh.dims, x, 0, y, 0, gamma, beta, mean, var, 1e-5);
        return y;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.forwardInference(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), x, y, gamma, beta, mean, var, 1e-5);
        return y;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.forwardInference(sh.dims, x, 0, y, 0, gamma, beta, mean, var, 1e-5);
        return y;
    }

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }
}
