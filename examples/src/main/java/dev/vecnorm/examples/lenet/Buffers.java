package dev.vecnorm.examples.lenet;

/** Activation buffers that grow to the largest batch seen and are reused after that. */
final class Buffers {

    private Buffers() {
    }

    static float[] atLeast(float[] buffer, int length) {
        return buffer != null && buffer.length >= length ? buffer : new float[length];
    }
}
