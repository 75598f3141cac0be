package dev.vecnorm;

/**
 * What a training forward keeps for its backward: the means and {@code 1/sqrt(variance + eps)}, per channel
 * (BatchNorm), per sample and group (GroupNorm, sample-major) or per row (LayerNorm). RMSNorm keeps only the
 * inverse RMS, in {@code invStd}, and no mean.
 */
public record SavedStatistics(float[] mean, float[] invStd) {
}
