package dev.vecnorm;

/**
 * The result of a tensor backward call: the input gradient and the gradients of the weight and bias (null where
 * the operation has none, e.g. RMSNorm's bias).
 */
public record NormGradients(Tensor dx, float[] dWeight, float[] dBias) {
}
