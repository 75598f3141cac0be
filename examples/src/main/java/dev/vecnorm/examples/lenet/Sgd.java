package dev.vecnorm.examples.lenet;

/** Plain stochastic gradient descent: p -= lr * grad. */
final class Sgd {

    private Sgd() {
    }

    static void step(float[] parameters, float[] gradients, float learningRate) {
        for (int i = 0; i < parameters.length; i++) {
            parameters[i] -= learningRate * gradients[i];
        }
    }
}
