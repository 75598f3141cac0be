package dev.vecnorm.examples.lenet;

import java.util.Arrays;
import java.util.Random;

/** y = x W^T + b for a batch of rows; W is out x in, row-major as torch.nn.Linear stores it. */
final class Linear implements Layer {

    private final int in;
    private final int out;
    final float[] weight;
    final float[] bias;
    final float[] dWeight;
    final float[] dBias;
    private final Parallel parallel;
    /** Per-thread weight and bias gradients, summed in thread order (the same bits for a given thread count). */
    private final float[][] partWeight;
    private final float[][] partBias;
    private float[] x;
    private float[] y;
    private float[] dx;

    Linear(int in, int out, Random random, Parallel parallel) {
        this.in = in;
        this.out = out;
        weight = Init.xavierUniform(out * in, in, out, random);
        bias = Init.defaultBias(out, in, random);
        dWeight = new float[weight.length];
        dBias = new float[out];
        this.parallel = parallel;
        partWeight = new float[parallel.parts()][weight.length];
        partBias = new float[parallel.parts()][out];
    }

    @Override
    public int outputSize() {
        return out;
    }

    @Override
    public float[] forward(float[] input, int n) {
        x = input;
        y = Buffers.atLeast(y, n * out);
        parallel.forEach(n, (part, from, to) -> {
            for (int b = from; b < to; b++) {
                for (int o = 0; o < out; o++) {
                    y[b * out + o] = bias[o] + Dot.dot(weight, o * in, x, b * in, in);
                }
            }
        });
        return y;
    }

    @Override
    public float[] backward(float[] dy, int n) {
        dx = Buffers.atLeast(dx, n * in);
        Arrays.fill(dx, 0, n * in, 0f);
        for (int p = 0; p < partWeight.length; p++) {
            Arrays.fill(partWeight[p], 0f);
            Arrays.fill(partBias[p], 0f);
        }
        parallel.forEach(n, (part, from, to) -> {
            float[] gWeight = partWeight[part];
            float[] gBias = partBias[part];
            for (int b = from; b < to; b++) {
                int r = b * in;
                for (int o = 0; o < out; o++) {
                    float d = dy[b * out + o];
                    gBias[o] += d;
                    int w = o * in;
                    for (int i = 0; i < in; i++) {
                        gWeight[w + i] += d * x[r + i];
                        dx[r + i] += d * weight[w + i];
                    }
                }
            }
        });
        Arrays.fill(dWeight, 0f);
        Arrays.fill(dBias, 0f);
        for (int p = 0; p < partWeight.length; p++) {
            for (int i = 0; i < dWeight.length; i++) {
                dWeight[i] += partWeight[p][i];
            }
            for (int o = 0; o < out; o++) {
                dBias[o] += partBias[p][o];
            }
        }
        return dx;
    }

    @Override
    public void step(float learningRate) {
        Sgd.step(weight, dWeight, learningRate);
        Sgd.step(bias, dBias, learningRate);
    }
}
