package dev.vecnorm.bench.jmh;

import dev.vecnorm.bench.Floor;
import dev.vecnorm.bench.PlainJavaBatchNorm;
import dev.vecnorm.internal.kernels.Kernels;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * Backward from saved statistics against the 12 B/elem streaming floor (read x and dy, write dx), and against the
 * floor of the two-pass structure (sums, then dx per channel; float32, single thread).
 */
public class BackwardBenchmark extends BatchNormBenchmark {

    private float[] mean;
    private float[] invStd;
    private float[] dgamma;
    private float[] dbeta;
    private double[] sumDy;
    private double[] sumDyCentered;

    @Override
    protected void prepare() {
        int c = sh.ncs.c();
        mean = new float[c];
        invStd = new float[c];
        dgamma = new float[c];
        dbeta = new float[c];
        sumDy = new double[c];
        sumDyCentered = new double[c];
        scalar.forwardTraining(sh.dims, x, 0, new float[x.length], 0, gamma, null, 1e-5, mean, invStd, null);
        float[] expected = new float[out.length];
        scalar.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, expected, 0, dgamma, dbeta);
        vector.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta);
        BenchShape.requireAgreement("vector", expected, out, 1e-5);
        plainJavaLoop();
        BenchShape.requireAgreement("plain loop", expected, out, 1e-3);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine2(x, dy, out, 1.0001f, 0.5f, pool, workers);
        return out;
    }

    /** Sums then dx per channel in float32: what the two-pass structure costs with the cheapest arithmetic. */
    @Benchmark
    public float[] twoPassFloor() {
        Floor.backwardTwoPasses(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), dy, x, out);
        return out;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta);
        return out;
    }

    /** The sums pass alone (all channels). */
    @Benchmark
    public double[] sumsOnlyVector() {
        Kernels.vector().orElseThrow().gradientSums(dy, 0, x, 0, sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), 0, sh.ncs.c(), mean, sumDy,
                sumDyCentered);
        return sumDyCentered;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.backward(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), dy, x, gamma, mean, invStd, out, dgamma,
                dbeta);
        return out;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.backward(sh.dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta);
        return out;
    }
}
