package dev.vecnorm.examples.lenet;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * d2l's LeNet with batch normalization (the seed's network): Conv(1,6,5)-BN-Sigmoid-AvgPool2,
 * Conv(6,16,5)-BN-Sigmoid-AvgPool2, Flatten(256), Linear(256,120)-BN-Sigmoid, Linear(120,84)-BN-Sigmoid,
 * Linear(84,10); without batch norm, the same network minus the four BN layers.
 */
final class LeNet {

    static final int CLASSES = 10;

    final List<Layer> layers = new ArrayList<>();
    final List<BatchNormLayer> norms = new ArrayList<>();

    LeNet(boolean batchNorm, long seed, Parallel parallel) {
        Random random = new Random(seed);
        add(new Conv2d(1, 6, 5, 28, 28, random, parallel).withoutInputGradient());
        normalize(batchNorm, new BatchNormLayer(6, 24, 24));
        add(new Sigmoid(6 * 24 * 24, parallel));
        add(new AvgPool2(6, 24, 24));
        add(new Conv2d(6, 16, 5, 12, 12, random, parallel));
        normalize(batchNorm, new BatchNormLayer(16, 8, 8));
        add(new Sigmoid(16 * 8 * 8, parallel));
        add(new AvgPool2(16, 8, 8));
        add(new Linear(256, 120, random, parallel));
        normalize(batchNorm, new BatchNormLayer(120));
        add(new Sigmoid(120, parallel));
        add(new Linear(120, 84, random, parallel));
        normalize(batchNorm, new BatchNormLayer(84));
        add(new Sigmoid(84, parallel));
        add(new Linear(84, CLASSES, random, parallel));
    }

    private void add(Layer layer) {
        layers.add(layer);
    }

    private void normalize(boolean batchNorm, BatchNormLayer layer) {
        if (batchNorm) {
            layers.add(layer);
            norms.add(layer);
        }
    }

    void training(boolean training) {
        for (Layer layer : layers) {
            layer.training(training);
        }
    }

    /** Logits of n images (n x 784 floats). */
    float[] forward(float[] images, int n) {
        float[] a = images;
        for (Layer layer : layers) {
            a = layer.forward(a, n);
        }
        return a;
    }

    /** Backward from dLoss/dLogits, then one SGD step on every layer. */
    void backwardAndStep(float[] dLogits, int n, float learningRate) {
        float[] g = dLogits;
        for (int i = layers.size() - 1; i >= 0; i--) {
            g = layers.get(i).backward(g, n);
        }
        for (Layer layer : layers) {
            layer.step(learningRate);
        }
    }

    /** Nanoseconds spent in batch norm forward and backward since construction. */
    long batchNormNanos() {
        long sum = 0;
        for (BatchNormLayer layer : norms) {
            sum += layer.nanos;
        }
        return sum;
    }
}
