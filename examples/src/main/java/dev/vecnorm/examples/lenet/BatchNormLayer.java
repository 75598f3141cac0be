package dev.vecnorm.examples.lenet;

import dev.vecnorm.BatchNorm;
import dev.vecnorm.Parameter;

/**
 * vecnorm's {@link BatchNorm} as a network layer: BatchNorm2d after a convolution (shape N, C, H, W) or
 * BatchNorm1d after a linear layer (shape N, C). The time spent in it is added to {@link #nanos}, so the training
 * command can report batch norm's share of a step.
 */
final class BatchNormLayer implements Layer {

    final BatchNorm norm;
    private final int[] sampleDims;
    private final int size;
    private float[] y;
    private float[] dx;
    long nanos;

    /** Over {@code channels} features, each sample holding {@code channels * spatial} values. */
    BatchNormLayer(int channels, int... spatial) {
        norm = new BatchNorm(channels);
        sampleDims = new int[spatial.length + 1];
        sampleDims[0] = channels;
        int s = 1;
        for (int i = 0; i < spatial.length; i++) {
            sampleDims[i + 1] = spatial[i];
            s *= spatial[i];
        }
        size = channels * s;
    }

    @Override
    public int outputSize() {
        return size;
    }

    @Override
    public void training(boolean training) {
        if (training) {
            norm.train();
        } else {
            norm.eval();
        }
    }

    private int[] shape(int n) {
        int[] shape = new int[sampleDims.length + 1];
        shape[0] = n;
        System.arraycopy(sampleDims, 0, shape, 1, sampleDims.length);
        return shape;
    }

    @Override
    public float[] forward(float[] x, int n) {
        long start = System.nanoTime();
        y = Buffers.atLeast(y, n * size);
        norm.forward(shape(n), x, 0, y, 0);
        nanos += System.nanoTime() - start;
        return y;
    }

    @Override
    public float[] backward(float[] dy, int n) {
        long start = System.nanoTime();
        dx = Buffers.atLeast(dx, n * size);
        norm.zeroGrad();
        norm.backwardAccumulate(dy, 0, dx, 0);
        nanos += System.nanoTime() - start;
        return dx;
    }

    @Override
    public void step(float learningRate) {
        // The layer's own weight and bias, updated in place from their gradients: no copies.
        for (Parameter p : norm.parameters()) {
            Sgd.step(p.value(), p.grad(), learningRate);
        }
    }
}
