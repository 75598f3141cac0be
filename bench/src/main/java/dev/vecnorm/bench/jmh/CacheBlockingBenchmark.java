package dev.vecnorm.bench.jmh;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What keeping a block of channels in L2 between the two passes buys, single thread: the functional API
 * (statistics then normalize per block; backward sums then dx per block) against the same kernels run as two
 * full passes over the tensor (every channel's statistics, then every channel's normalize).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class CacheBlockingBenchmark {

    @Param({"32x256x56x56", "32x64x112x112"})
    public String shape;

    private BenchShape sh;
    private float[] x;
    private float[] dy;
    private float[] y;
    private float[] mean;
    private float[] invStd;
    private double[] meanD;
    private double[] varD;
    private float[] hi;
    private float[] lo;
    private float[] scale;
    private float[] shift;
    private double[] sumDy;
    private double[] sumDyXc;
    private double[] dyScale;
    private double[] xcScale;
    private double[] dxShift;
    private BatchNormKernels kernels;
    private BatchNormOps ops;

    @Setup
    public void setup() {
        sh = new BenchShape(shape);
        int c = sh.ncs.c();
        x = BenchShape.random(sh.ncs.size(), 1, 0.5f);
        dy = BenchShape.random(sh.ncs.size(), 2, 0f);
        y = new float[sh.ncs.size()];
        mean = new float[c];
        invStd = new float[c];
        meanD = new double[c];
        varD = new double[c];
        hi = new float[c];
        lo = new float[c];
        scale = new float[c];
        shift = new float[c];
        sumDy = new double[c];
        sumDyXc = new double[c];
        dyScale = new double[c];
        xcScale = new double[c];
        dxShift = new double[c];
        kernels = Kernels.vector().orElseThrow();
        ops = BatchNormOps.using(Backend.vector().orElseThrow());
        ops.forwardTraining(sh.dims, x, 0, y, 0, null, null, 1e-5, mean, invStd, null);
        float[] expected = y.clone();
        trainingTwoFullPasses();
        BenchShape.requireAgreement("two passes", expected, y, 1e-6);
    }

    @Benchmark
    public float[] trainingBlocked() {
        ops.forwardTraining(sh.dims, x, 0, y, 0, null, null, 1e-5, mean, invStd, null);
        return y;
    }

    @Benchmark
    public float[] trainingTwoFullPasses() {
        int n = sh.ncs.n();
        int c = sh.ncs.c();
        int s = sh.ncs.s();
        kernels.moments(x, 0, n, c, s, 0, c, meanD, varD);
        for (int ch = 0; ch < c; ch++) {
            double inv = 1 / Math.sqrt(varD[ch] + 1e-5);
            hi[ch] = (float) meanD[ch];
            lo[ch] = (float) (meanD[ch] - hi[ch]);
            scale[ch] = (float) inv;
        }
        kernels.affine(x, 0, y, 0, n, c, s, 0, c, hi, lo, scale, shift);
        return y;
    }

    @Benchmark
    public float[] backwardBlocked() {
        ops.backward(sh.dims, dy, 0, x, 0, null, mean, invStd, y, 0, null, null);
        return y;
    }

    @Benchmark
    public float[] backwardTwoFullPasses() {
        int n = sh.ncs.n();
        int c = sh.ncs.c();
        int s = sh.ncs.s();
        kernels.gradientSums(dy, 0, x, 0, n, c, s, 0, c, mean, sumDy, sumDyXc);
        double count = (double) n * s;
        for (int ch = 0; ch < c; ch++) {
            double inv = invStd[ch];
            dyScale[ch] = inv;
            xcScale[ch] = inv * inv * inv * sumDyXc[ch] / count;
            dxShift[ch] = inv * sumDy[ch] / count;
        }
        kernels.gradientInput(dy, 0, x, 0, y, 0, n, c, s, 0, c, mean, dyScale, xcScale, dxShift);
        return y;
    }
}
