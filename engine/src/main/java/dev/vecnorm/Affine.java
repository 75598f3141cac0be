package dev.vecnorm;

/**
 * The learnable scale and shift of a normalization, {@code y = xhat * weight + bias} (torch's weight and bias,
 * ONNX's scale and B): per channel for BatchNorm and GroupNorm, per normalized element for LayerNorm. Either may
 * be null (weight 1, bias 0).
 */
public record Affine(float[] weight, float[] bias) {

    /** No scale and no shift. */
    public static final Affine NONE = new Affine(null, null);
}
