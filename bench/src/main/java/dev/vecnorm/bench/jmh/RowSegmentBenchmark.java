package dev.vecnorm.bench.jmh;

import dev.vecnorm.Backend;
import dev.vecnorm.LayerNormOps;
import dev.vecnorm.RMSNormOps;
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
 * What MemorySegments cost LayerNorm and RMSNorm against float[] (single thread, Vector API kernels): the LLM
 * shapes on arrays and on native segments (rows staged through per-thread heap buffers), 64-byte-aligned or one
 * byte off.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class RowSegmentBenchmark {

    @Param({"2048x4096", "4096x768", "1x4096"})
    public String shape;

    /** array, native (64-byte aligned) or misaligned (native + 1 byte). */
    @Param({"array", "native", "misaligned"})
    public String memory;

    private int[] dims;
    private float[] x;
    private float[] dy;
    private float[] out;
    private float[] gamma;
    private float[] mean;
    private float[] invStd;
    private float[] dgamma;
    private MemorySegment xSeg;
    private MemorySegment dySeg;
    private MemorySegment outSeg;
    private Arena arena;
    private LayerNormOps layerNorm;
    private RMSNormOps rmsNorm;

    @Setup
    public void setup() {
        String[] parts = shape.split("x");
        dims = new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        int n = dims[0] * dims[1];
        x = BenchShape.random(n, 1, 0.5f);
        dy = BenchShape.random(n, 2, 0f);
        out = new float[n];
        gamma = BenchShape.random(dims[1], 3, 1f);
        mean = new float[dims[0]];
        invStd = new float[dims[0]];
        dgamma = new float[dims[1]];
        layerNorm = LayerNormOps.using(Backend.vector().orElseThrow());
        rmsNorm = RMSNormOps.using(Backend.vector().orElseThrow());
        layerNorm.forward(dims, -1, x, 0, out, 0, gamma, null, 1e-5, mean, invStd);
        arena = Arena.ofShared();
        int skew = memory.equals("misaligned") ? 1 : 0;
        xSeg = copy(x, skew);
        dySeg = copy(dy, skew);
        outSeg = arena.allocate(4L * n + 64, 64).asSlice(skew, 4L * n);
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
    public Object layerNormForward() {
        if (memory.equals("array")) {
            layerNorm.forward(dims, -1, x, 0, out, 0, gamma, null, 1e-5, mean, invStd);
        } else {
            layerNorm.forward(dims, -1, xSeg, 0, outSeg, 0, gamma, null, 1e-5, mean, invStd);
        }
        return invStd;
    }

    @Benchmark
    public Object layerNormBackward() {
        if (memory.equals("array")) {
            layerNorm.backward(dims, -1, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, null);
        } else {
            layerNorm.backward(dims, -1, dySeg, 0, xSeg, 0, gamma, mean, invStd, outSeg, 0, dgamma, null);
        }
        return dgamma;
    }

    @Benchmark
    public Object rmsNormForward() {
        if (memory.equals("array")) {
            rmsNorm.forward(dims, -1, x, 0, out, 0, gamma, 1e-5, invStd);
        } else {
            rmsNorm.forward(dims, -1, xSeg, 0, outSeg, 0, gamma, 1e-5, invStd);
        }
        return invStd;
    }
}
