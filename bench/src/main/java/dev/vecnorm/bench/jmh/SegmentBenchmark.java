package dev.vecnorm.bench.jmh;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * What off-heap tensors cost against float[], single thread, Vector API kernels: the same three operations on
 * arrays, on 64-byte-aligned native segments (element-wise passes read and write the segments directly), and on
 * native segments one byte off float alignment (every tile copied through heap buffers).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class SegmentBenchmark {

    @Param({"32x256x56x56", "256x1024"})
    public String shape;

    /** array, native (aligned: direct) or misaligned (native + 1 byte: copied). */
    @Param({"array", "native", "misaligned"})
    public String memory;

    private BenchShape sh;
    private BatchNormOps ops;
    private Arena arena;
    private float[] x;
    private float[] dy;
    private float[] out;
    private MemorySegment xSeg;
    private MemorySegment dySeg;
    private MemorySegment outSeg;
    private float[] mean;
    private float[] invStd;
    private float[] variance;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        int c = sh.ncs.c();
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        dy = BenchShape.random(sh.ncs.size(), 2, 0f);
        out = new float[sh.ncs.size()];
        mean = new float[c];
        invStd = new float[c];
        variance = new float[c];
        ops = BatchNormOps.using(Backend.vector().orElseThrow()).singleThreaded();
        ops.forwardTraining(sh.dims, x, 0, out, 0, null, null, 1e-5, mean, invStd, null);
        for (int ch = 0; ch < c; ch++) {
            variance[ch] = 1 / (invStd[ch] * invStd[ch]);
        }
        arena = Arena.ofShared();
        int skew = memory.equals("misaligned") ? 1 : 0;
        xSeg = copy(x, skew);
        dySeg = copy(dy, skew);
        outSeg = arena.allocate(4L * out.length + 64, 64).asSlice(skew, 4L * out.length);
    }

    private MemorySegment copy(float[] data, int skew) {
        MemorySegment seg = arena.allocate(4L * data.length + 64, 64).asSlice(skew, 4L * data.length);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
        return seg;
    }

    @TearDown
    public void close() {
        arena.close();
    }

    @Benchmark
    public Object training() {
        if (memory.equals("array")) {
            ops.forwardTraining(sh.dims, x, 0, out, 0, null, null, 1e-5, mean, invStd, null);
        } else {
            ops.forwardTraining(sh.dims, xSeg, 0, outSeg, 0, null, null, 1e-5, mean, invStd, null);
        }
        return mean;
    }

    @Benchmark
    public Object inference() {
        if (memory.equals("array")) {
            ops.forwardInference(sh.dims, x, 0, out, 0, null, null, mean, variance, 1e-5);
        } else {
            ops.forwardInference(sh.dims, xSeg, 0, outSeg, 0, null, null, mean, variance, 1e-5);
        }
        return outSeg;
    }

    @Benchmark
    public Object backward() {
        if (memory.equals("array")) {
            ops.backward(sh.dims, dy, 0, x, 0, null, mean, invStd, out, 0, null, null);
        } else {
            ops.backward(sh.dims, dySeg, 0, xSeg, 0, null, mean, invStd, outSeg, 0, null, null);
        }
        return outSeg;
    }
}
