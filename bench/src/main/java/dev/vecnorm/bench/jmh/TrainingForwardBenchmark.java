package dev.vecnorm.bench.jmh;

import dev.vecnorm.bench.Floor;
import dev.vecnorm.bench.PlainJavaBatchNorm;
import dev.vecnorm.internal.kernels.Kernels;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * Training forward (statistics + normalize, and statistics alone) against the streaming floor {@code y = a*x + b}
 * over the same bytes, the readable scalar reference and the best plain-Java loop.
 */
public class TrainingForwardBenchmark extends BatchNormBenchmark {

    private float[] mean;
    private float[] invStd;
    private double[] meanD;
    private double[] varD;

    @Override
    protected void prepare() {
        mean = new float[sh.ncs.c()];
        invStd = new float[sh.ncs.c()];
        meanD = new double[sh.ncs.c()];
        varD = new double[sh.ncs.c()];
        float[] expected = new float[out.length];
        scalar.forwardTraining(sh.dims, x, 0, expected, 0, gamma, beta, 1e-5, mean, invStd, null);
        vector.forwardTraining(sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
        BenchShape.requireAgreement("vector", expected, out, 1e-5);
        plainJavaLoop();
        BenchShape.requireAgreement("plain loop", expected, out, 1e-3);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine(x, out, 1.0001f, 0.5f, pool, workers);
        return out;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.forwardTraining(sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
        return out;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.forwardTraining(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), x, out, gamma, beta, 1e-5, mean,
                invStd);
        return out;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.forwardTraining(sh.dims, x, 0, out, 0, gamma, beta, 1e-5, mean, invStd, null);
        return out;
    }

    /** The statistics pass alone (one channel range: all channels; no normalize). */
    @Benchmark
    public double[] statsOnlyVector() {
        Kernels.vector().orElseThrow().moments(x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), meanD, varD);
        return varD;
    }

    @Benchmark
    public double[] statsOnlyScalarReference() {
        Kernels.scalar().moments(x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), meanD, varD);
        return varD;
    }
}
