package dev.vecnorm.examples.lenet;

import java.util.Random;

/** PyTorch's initializations as d2l's LeNet uses them: Xavier-uniform weights, the default uniform bias. */
final class Init {

    private Init() {
    }

    /** U(-a, a) with a = sqrt(6 / (fanIn + fanOut)) (Glorot and Bengio, 2010). */
    static float[] xavierUniform(int length, int fanIn, int fanOut, Random random) {
        return uniform(length, Math.sqrt(6.0 / (fanIn + fanOut)), random);
    }

    /** U(-1/sqrt(fanIn), 1/sqrt(fanIn)): torch.nn.Linear's and Conv2d's bias. */
    static float[] defaultBias(int length, int fanIn, Random random) {
        return uniform(length, 1 / Math.sqrt(fanIn), random);
    }

    private static float[] uniform(int length, double bound, Random random) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = (float) ((2 * random.nextDouble() - 1) * bound);
        }
        return a;
    }
}
