package dev.vecnorm;

/**
 * RMS normalization with the behaviour of {@code torch.nn.RMSNorm}: each input of shape {@code (*, normalizedShape)}
 * is divided by the root mean square over its trailing {@code normalizedShape} dimensions, then scaled by an
 * element-wise weight (optional); no bias, no running statistics. eps {@code null} means float32's machine
 * epsilon (2^-23), as torch's default. Not thread-safe; backward reads the last forward's input.
 */
public final class RMSNorm extends NormLayer {

    private final int[] normalizedShape;
    private final double eps;
    private final float[] weight;
    private final RMSNormOps ops = RMSNormOps.get();
    private float[] savedInvRms = new float[0];

    /** {@code torch.nn.RMSNorm(normalizedShape)}: eps float32's epsilon, element-wise weight. */
    public RMSNorm(int... normalizedShape) {
        this(normalizedShape, null, true);
    }

    /**
     * @param eps added to the mean square; null for {@code Math.ulp(1f)} (torch's {@code eps=None})
     * @throws IllegalArgumentException on an empty or non-positive normalized shape, or eps negative or NaN
     */
    public RMSNorm(int[] normalizedShape, Double eps, boolean elementwiseAffine) {
        this(normalizedShape, eps, elementwiseAffine, LayerNorm.width(normalizedShape));
    }

    private RMSNorm(int[] normalizedShape, Double eps, boolean affine, int width) {
        super(affine ? LayerNorm.filled(width, 1f) : null, null);
        this.eps = eps == null ? Math.ulp(1f) : eps;
        Checks.epsilon(this.eps);
        this.normalizedShape = normalizedShape.clone();
        this.weight = affine ? parameters().get(0).value() : null;
    }

    @Override
    String name() {
        return "RMSNorm";
    }

    @Override
    public void forward(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        int axis = LayerNorm.axis(name(), shape, normalizedShape);
        RowNormalization rows = RowNormalization.of(shape, axis);
        float[] invRms = savedInvRms.length == rows.rows() ? savedInvRms : new float[rows.rows()];
        ops.forward(shape, axis, x, xOffset, y, yOffset, weight, eps, invRms);
        savedInvRms = invRms;
        remember(shape, x, xOffset, overlaps(x, xOffset, y, yOffset, rows.size()));
    }

    /** As {@link NormLayer#backward}; {@code dBias} must be null or is left alone: RMSNorm has no bias. */
    @Override
    public void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight, float[] dBias) {
        requireForward();
        ops.backward(lastShape, lastShape.length - normalizedShape.length, dy, dyOffset, lastX, lastXOffset, weight,
                savedInvRms, dx, dxOffset, dWeight);
    }

    /** A copy of the normalized shape. */
    public int[] normalizedShape() {
        return normalizedShape.clone();
    }

    /** The eps in use (float32's epsilon when constructed with null). */
    public double eps() {
        return eps;
    }
}
