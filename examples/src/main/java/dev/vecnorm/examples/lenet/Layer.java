package dev.vecnorm.examples.lenet;

/**
 * One layer of a feed-forward network on a batch of n samples stored one after the other. forward keeps what
 * backward needs; backward takes the gradient of the loss with respect to the output and returns the one with
 * respect to the input, and overwrites (does not accumulate) the parameter gradients.
 */
interface Layer {

    /** The output of a batch of n samples; the returned array belongs to the layer until its next call. */
    float[] forward(float[] x, int n);

    /** dLoss/dInput for dLoss/dOutput {@code dy} of the last forward batch; the array belongs to the layer. */
    float[] backward(float[] dy, int n);

    /** Plain SGD on the parameters with the gradients of the last backward call. */
    default void step(float learningRate) {
    }

    /** Training (batch statistics) or evaluation (running statistics) mode; only batch norm cares. */
    default void training(boolean training) {
    }

    /** Values per sample in the output. */
    int outputSize();
}
