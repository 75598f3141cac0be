package dev.vecnorm.examples.lenet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Every layer's backward against central differences of L = sum(r * forward(x)) for a fixed random r, evaluated
 * in float: steps of 1e-2 keep the float rounding of L (about 1e-6 of it) well below the tolerance, and a
 * missing or doubled term in a gradient is off by far more.
 */
class GradientCheckTest {

    private static final double STEP = 1e-2;

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static double objective(float[] y, float[] r) {
        double sum = 0;
        for (int i = 0; i < r.length; i++) {
            sum += (double) y[i] * r[i];
        }
        return sum;
    }

    /** Checks d objective / d values[i] for every i against {@code analytic}, re-running {@code forward}. */
    private static void check(String what, float[] values, float[] analytic, Supplier<float[]> forward, float[] r) {
        double worst = 0;
        for (int i = 0; i < values.length; i++) {
            float keep = values[i];
            values[i] = (float) (keep + STEP);
            double up = objective(forward.get(), r);
            values[i] = (float) (keep - STEP);
            double down = objective(forward.get(), r);
            values[i] = keep;
            double numeric = (up - down) / (2 * STEP);
            double error = Math.abs(numeric - analytic[i]) / (1 + Math.abs(numeric));
            worst = Math.max(worst, error);
            assertTrue(error < 2e-3, what + "[" + i + "]: backward " + analytic[i] + ", central difference " + numeric);
        }
        assertTrue(worst > 0 || values.length == 0, what + ": nothing compared");
    }

    private static void checkLayer(String what, Layer layer, int n, int inSize, float[]... parameters) {
        float[] x = random(n * inSize, 1);
        float[] r = random(n * layer.outputSize(), 2);
        layer.forward(x, n);
        float[] dx = layer.backward(r, n).clone();
        Supplier<float[]> forward = () -> layer.forward(x, n);
        check(what + " dx", x, dx, forward, r);
        for (int p = 0; p < parameters.length; p += 2) {
            check(what + " parameter " + p / 2, parameters[p], parameters[p + 1].clone(), forward, r);
        }
    }

    @Test
    void convolutionOnOneAndTwoThreads() {
        for (int threads : new int[] {1, 2}) {
            try (Parallel parallel = new Parallel(threads)) {
                Conv2d conv = new Conv2d(2, 3, 5, 7, 6, new Random(3), parallel);
                checkLayer("conv, " + threads + " threads", conv, 5, 2 * 7 * 6, conv.weight, conv.dWeight,
                        conv.bias, conv.dBias);
                // 8 x 7 = 56 output positions and 5 channels: vector blocks, an overlapping last block and
                // rows past a multiple of four at every width.
                Conv2d wide = new Conv2d(2, 5, 3, 10, 9, new Random(6), parallel);
                checkLayer("wide conv, " + threads + " threads", wide, 3, 2 * 10 * 9, wide.weight, wide.dWeight,
                        wide.bias, wide.dBias);
            }
        }
    }

    @Test
    void linearPoolingSigmoid() {
        try (Parallel parallel = new Parallel(2)) {
            Linear linear = new Linear(7, 4, new Random(4), parallel);
            checkLayer("linear", linear, 5, 7, linear.weight, linear.dWeight, linear.bias, linear.dBias);
            Linear wide = new Linear(40, 37, new Random(7), parallel);
            checkLayer("wide linear", wide, 6, 40, wide.weight, wide.dWeight, wide.bias, wide.dBias);
            checkLayer("pool", new AvgPool2(2, 4, 6), 3, 2 * 4 * 6);
            checkLayer("sigmoid", new Sigmoid(5, parallel), 5, 5);
        }
    }

    @Test
    void batchNormLayerInBothShapes() {
        checkLayer("bn2d", new BatchNormLayer(3, 2, 2), 4, 12);
        checkLayer("bn1d", new BatchNormLayer(5), 6, 5);
    }

    @Test
    void softmaxCrossEntropy() {
        SoftmaxCrossEntropy ce = new SoftmaxCrossEntropy(4);
        float[] logits = random(12, 5);
        byte[] labels = {1, 3, 0};
        ce.loss(logits, labels, 0, 3);
        float[] g = ce.gradient().clone();
        for (int i = 0; i < logits.length; i++) {
            float keep = logits[i];
            logits[i] = (float) (keep + STEP);
            double up = ce.loss(logits, labels, 0, 3);
            logits[i] = (float) (keep - STEP);
            double down = ce.loss(logits, labels, 0, 3);
            logits[i] = keep;
            double numeric = (up - down) / (2 * STEP);
            assertTrue(Math.abs(numeric - g[i]) < 1e-4, i + ": " + g[i] + " vs " + numeric);
        }
        // The loss itself, against log-sum-exp in double for row 0.
        double lse = 0;
        for (int j = 0; j < 4; j++) {
            lse += Math.exp(logits[j]);
        }
        double row0 = Math.log(lse) - logits[1];
        double mean = ce.loss(logits, labels, 0, 3);
        assertTrue(Math.abs(ce.loss(logits, labels, 0, 1) - row0) < 1e-12, "row 0 loss");
        assertTrue(mean > 0, "mean loss " + mean);
    }

    @Test
    void vectorExpAgainstDoubleExpFromUnderflowToOverflow() {
        int lanes = Vectors.F.length();
        float[] z = new float[lanes];
        float[] e = new float[lanes];
        double worst = 0;
        for (float start = -87f; start < 88f; start += 0.37f * lanes) {
            for (int l = 0; l < lanes; l++) {
                z[l] = start + 0.37f * l;
            }
            Sigmoid.exp(jdk.incubator.vector.FloatVector.fromArray(
                    Vectors.F, z, 0)).intoArray(e, 0);
            for (int l = 0; l < lanes; l++) {
                if (z[l] <= 88f) {
                    double want = Math.exp(z[l]);
                    worst = Math.max(worst, Math.abs(e[l] - want) / want);
                } else {
                    // Past the clamp: e^88, finite, so that 1 / (1 + e) stays a number.
                    assertTrue(Math.abs(e[l] / Math.exp(88) - 1) < 5e-7, z[l] + ": " + e[l]);
                }
            }
        }
        assertTrue(worst < 5e-7, "relative error " + worst);
        assertTrue(worst > 0, "nothing compared");
    }
}
