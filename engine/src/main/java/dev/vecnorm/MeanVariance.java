package dev.vecnorm;

/**
 * Given per-channel statistics, such as a BatchNorm layer's running mean and variance: what inference and the
 * frozen-statistics backward normalize with.
 */
public record MeanVariance(float[] mean, float[] variance) {
}
