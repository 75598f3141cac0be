package dev.vecnorm.bench.jmh;

import dev.vecnorm.NcsShape;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Shapes given as JMH parameters ("32x256x56x56") and the tensors benchmarks run on. */
final class BenchShape {

    final int[] dims;
    final NcsShape ncs;

    BenchShape(String spec) {
        this.dims = Arrays.stream(spec.split("x")).mapToInt(Integer::parseInt).toArray();
        this.ncs = NcsShape.of(dims);
    }

    static float[] random(int length, long seed, float offset) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = offset + (float) r.nextGaussian();
        }
        return a;
    }

    /** Largest |a - b| relative to 1 + |a|: a setup-time check that two implementations agree. */
    static void requireAgreement(String what, float[] a, float[] b, double tolerance) {
        for (int i = 0; i < a.length; i++) {
            double err = Math.abs(a[i] - b[i]) / (1 + Math.abs(a[i]));
            if (!(err <= tolerance)) {
                throw new IllegalStateException(what + ": implementations disagree at " + i + ": " + a[i] + " vs "
                        + b[i]);
            }
        }
    }
}
