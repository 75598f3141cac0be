package dev.vecnorm.bench.jmh;

import dev.vecnorm.bench.Floor;
import dev.vecnorm.bench.PlainJavaBatchNorm;
import org.openjdk.jmh.annotations.Benchmark;

/** Inference with running statistics against the streaming floor over the same bytes (read x, write y). */
public class InferenceBenchmark extends BatchNormBenchmark {

    private float[] mean;
    private float[] var;

    @Override
    protected void prepare() {
        mean = BenchShape.random(sh.ncs.c(), 5, 0f);
        var = BenchShape.random(sh.ncs.c(), 6, 3f);
        for (int i = 0; i < var.length; i++) {
            var[i] = Math.abs(var[i]) + 0.1f;
        }
        float[] expected = new float[out.length];
        scalar.forwardInference(sh.dims, x, 0, expected, 0, gamma, beta, mean, var, 1e-5);
        vector.forwardInference(sh.dims, x, 0, out, 0, gamma, beta, mean, var, 1e-5);
        BenchShape.requireAgreement("vector", expected, out, 1e-5);
    }

    @Benchmark
    public float[] floorStream() {
        Floor.affine(x, out, 1.0001f, 0.5f, pool, workers);
        return out;
    }

    @Benchmark
    public float[] vecnormVector() {
        vector.forwardInference(sh.dims, x, 0, out, 0, gamma, beta, mean, var, 1e-5);
        return out;
    }

    @Benchmark
    public float[] plainJavaLoop() {
        PlainJavaBatchNorm.forwardInference(sh.ncs.n(), sh.ncs.c(), sh.ncs.s(), x, out, gamma, beta, mean, var,
                1e-5);
        return out;
    }

    @Benchmark
    public float[] scalarReference() {
        scalar.forwardInference(sh.dims, x, 0, out, 0, gamma, beta, mean, var, 1e-5);
        return out;
    }
}
