package dev.vecnorm.examples.lenet;

import java.util.Random;

/**
 * y = x W^T + b for a batch of rows; W is out x in, row-major as torch.nn.Linear stores it. The three products
 * are {@link Gemm}s: forward and the input gradient split the batch across threads, the weight gradient splits
 * W's rows, so every gradient is one chain over the whole batch and the bits do not depend on the thread count.
 */
final class Linear implements Layer {

    private final int in;
    private final int out;
    final float[] weight;
    final float[] bias;
    final float[] dWeight;
    final float[] dBias;
    /** W^T (in x out), refreshed before each forward: the product's B needs rows along the outputs. */
    private final float[] transposedWeight;
    private final Parallel parallel;
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
        transposedWeight = new float[weight.length];
        this.parallel = parallel;
    }

    @Override
    public int outputSize() {
        return out;
    }

    @Override
    public float[] forward(float[] input, int n) {
        x = input;
        y = Buffers.atLeast(y, n * out);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                transposedWeight[i * out + o] = weight[o * in + i];
            }
        }
        parallel.forEach(n, (part, from, to) -> Gemm.multiply(to - from, out, in, x, from * in, in, 1,
                transposedWeight, 0, out, bias, y, from * out, out));
        return y;
    }

    @Override
    public float[] backward(float[] dy, int n) {
        dx = Buffers.atLeast(dx, n * in);
        parallel.forEach(n, (part, from, to) -> Gemm.multiply(to - from, in, out, dy, from * out, out, 1, weight,
                0, in, null, dx, from * in, in));
        // dW = dy^T x: dy^T is read in place through A's strides.
        parallel.forEach(out, (part, from, to) -> Gemm.multiply(to - from, in, n, dy, from, 1, out, x, 0, in,
                null, dWeight, from * in, in));
        for (int o = 0; o < out; o++) {
            float sum = 0;
            for (int b = 0; b < n; b++) {
                sum += dy[b * out + o];
            }
            dBias[o] = sum;
        }
        return dx;
    }

    @Override
    public void step(float learningRate) {
        Sgd.step(weight, dWeight, learningRate);
        Sgd.step(bias, dBias, learningRate);
    }
}
