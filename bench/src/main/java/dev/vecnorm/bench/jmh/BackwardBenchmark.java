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

/** Backward from saved statistics, single thread, against the 12 B/elem streaming floor (read x, dy; write dx). */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class BackwardBenchmark {

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
    private float[] dy;
    private float[] dx;
    private float[] gamma;
    private float[] mean;
    private float[] invStd;
    private float[] dgamma;
    private float[] dbeta;
    private double[] sumDy;
    private double[] sumDyCentered;
    private BatchNormOps vector;
    private BatchNormOps scalar;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        int c = sh.ncs.c();
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        dy = BenchShape.random(sh.ncs.size(), 2, 0f);
        dx = new float[sh.ncs.size()];
        gamma = BenchShape.random(c, 3, 1f);
        mean = new float[c];
        invStd = new float[c];
        dgamma = new float[c];
        dbeta = new float[c];
        sumDy = new double[c];
        sumDyCentered = new double[c];
        workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        vector = BatchNormOps.using(Kernels.vector().orElseThrow()).parallel(pool);
        scalar = BatchNormOps.using(Kernels.scalar()).parallel(pool);
        scalar.forwardTraining(sh.dims, x, 0, new float[x.length], 0, gamma, null, 1e-5, mean, invStd, null);
        float[] expected = new float[dx.length];
        scalar.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, expected, 0, dgamma, dbeta);
        vector.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        BenchShape.requireAgreement("vector", expected, dx, 1e-5);
        PlainJavaBatchNorm.backward(sh.ncs.n(), c, sh.ncs.s(), dy, x, gamma, mean, invStd, dx, dgamma, dbeta);
        BenchShape.requireAgreement("plain loop", expected, dx, 1e-3);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine2(x, dy, dx, 1.0001f, 0.5f, pool, workers);
        return dx;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        return dx;
    }

    @Benchmark
    public double[] sumsOnlyVector() {
        vector.kernels().gradientSums(dy, 0, x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), mean, sumDy,
                sumDyCentered);
        return sumDyCentered;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.backward(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), dy, x, gamma, mean, invStd, dx, dgamma,
                dbeta);
        return dx;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
        return dx;
    }

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }
}
