package dev.vecnorm;

/**
 * A per-channel affine map {@code y = x * scale[c] + shift[c]}: an inference-mode batch norm's whole effect
 * ({@code scale = gamma / sqrt(var + eps)}, {@code shift = beta - mean * scale}), what folding it into a
 * neighbouring layer needs.
 */
public record ChannelAffine(float[] scale, float[] shift) {

    /**
     * @throws IllegalArgumentException if either array is null or their lengths differ
     */
    public ChannelAffine {
        if (scale == null || shift == null || scale.length != shift.length) {
            throw new IllegalArgumentException("scale and shift must be non-null arrays of one length, got "
                    + (scale == null ? "null" : scale.length) + " and " + (shift == null ? "null" : shift.length));
        }
    }
}
