package dev.vecnorm.bench.jmh;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
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
 * What the per-op benchmarks share: DESIGN.md's shapes, the thread count, the input tensors, and the scalar
 * reference and Vector API implementations on a pool of that many threads (the floor uses it too).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public abstract class BatchNormBenchmark {

    // DESIGN.md: ResNet-50 BN layers at batch 32, BatchNorm1d, batch 1, small C with long runs.
    @Param({"32x64x56x56", "32x256x56x56", "32x512x28x28", "32x1024x14x14", "32x2048x7x7", "256x1024", "1x64x56x56",
        "8x3x224x224"})
    public String shape;

    /** Threads for vecnorm (both kernels) and the floor; 0 = all available processors. The plain loop has one. */
    @Param({"1", "0"})
    public int threads;

    protected BenchShape sh;
    protected float[] x;
    protected float[] dy;
    protected float[] out;
    protected float[] gamma;
    protected float[] beta;
    protected ForkJoinPool pool;
    protected int workers;
    protected BatchNormOps vector;
    protected BatchNormOps scalar;

    /**
     * Allocates the shared inputs, then lets the subclass prepare and check its own (JMH does not order setup
     * methods across a class hierarchy, so there is exactly one).
     */
    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        dy = BenchShape.random(sh.ncs.size(), 2, 0f);
        out = new float[sh.ncs.size()];
        gamma = BenchShape.random(sh.ncs.c(), 3, 1f);
        beta = BenchShape.random(sh.ncs.c(), 4, 0f);
        workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        pool = new ForkJoinPool(workers);
        vector = BatchNormOps.using(Backend.vector().orElseThrow()).parallel(pool);
        scalar = BatchNormOps.using(Backend.scalarReference()).parallel(pool);
        prepare();
    }

    /** The subclass's own arrays, and a check that the implementations it times agree. */
    protected abstract void prepare();

    @TearDown
    public void shutdown() {
        pool.shutdown();
    }
}
