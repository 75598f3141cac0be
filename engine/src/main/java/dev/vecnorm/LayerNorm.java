package dev.vecnorm;

import java.util.Arrays;

/**
 * Layer normalization with the behaviour of {@code torch.nn.LayerNorm}: each input of shape
 * {@code (*, normalizedShape)} is normalized over its trailing {@code normalizedShape} dimensions, with an
 * element-wise weight and bias of that shape (optional). No running statistics, so no train/eval difference.
 * Not thread-safe; backward reads the last forward's input, which must not change in between.
 */
public final class LayerNorm extends NormLayer {

    private final int[] normalizedShape;
    private final double eps;
    private final float[] weight;
    private final float[] bias;
    private final LayerNormOps ops = LayerNormOps.get();
    private float[] savedMean = new float[0];
    private float[] savedInvStd = new float[0];

    /** {@code torch.nn.LayerNorm(normalizedShape)}: eps 1e-5, element-wise weight and bias. */
    public LayerNorm(int... normalizedShape) {
        this(normalizedShape, 1e-5, true, true);
    }

    /**
     * @param elementwiseAffine learnable weight (1) and, if {@code bias}, bias (0) of the normalized shape
     * @throws IllegalArgumentException on an empty or non-positive normalized shape, or eps negative or NaN
     */
    public LayerNorm(int[] normalizedShape, double eps, boolean elementwiseAffine, boolean bias) {
        this(normalizedShape, eps, elementwiseAffine, elementwiseAffine && bias, width(normalizedShape));
    }

    private LayerNorm(int[] normalizedShape, double eps, boolean affine, boolean bias, int width) {
        super(affine ? filled(width, 1f) : null, bias ? new float[width] : null);
        Checks.epsilon(eps);
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = parameters().isEmpty() ? null : parameters().get(0).value();
        this.bias = bias ? parameters().get(1).value() : null;
    }

    static int width(int[] normalizedShape) {
        if (normalizedShape == null || normalizedShape.length == 0) {
            throw new IllegalArgumentException("normalizedShape must have at least one dimension, got "
                    + (normalizedShape == null ? "null" : "[]"));
        }
        return RowNormalization.of(normalizedShape, 0).width();
    }

    static float[] filled(int n, float value) {
        float[] a = new float[n];
        Arrays.fill(a, value);
        return a;
    }

    /** The axis of {@code shape} where the normalized dimensions start, after checking they match. */
    static int axis(String name, int[] shape, int[] normalizedShape) {
        int axis = checkedShape(shape).length - normalizedShape.length;
        if (axis < 0 || !Arrays.equals(Arrays.copyOfRange(shape, axis, shape.length), normalizedShape)) {
            throw new IllegalArgumentException(name + " expects input of shape (*, " + Arrays.toString(normalizedShape)
                    + "), got " + Arrays.toString(shape));
        }
        return axis;
    }

    @Override
    String name() {
        return "LayerNorm";
    }

    @Override
    public void forward(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        int axis = axis(name(), shape, normalizedShape);
        RowNormalization rows = RowNormalization.of(shape, axis);
        // New statistics arrays only when the row count changes; the ops validate before writing into them.
        float[] mean = savedMean.length == rows.rows() ? savedMean : new float[rows.rows()];
        float[] invStd = savedInvStd.length == rows.rows() ? savedInvStd : new float[rows.rows()];
        ops.forward(shape, axis, x, xOffset, y, yOffset, weight, bias, eps, mean, invStd);
        savedMean = mean;
        savedInvStd = invStd;
        remember(shape, x, xOffset, overlaps(x, xOffset, y, yOffset, rows.size()));
    }

    @Override
    public void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight, float[] dBias) {
        requireForward();
        ops.backward(lastShape, lastShape.length - normalizedShape.length, dy, dyOffset, lastX, lastXOffset, weight,
                savedMean, savedInvStd, dx, dxOffset, dWeight, dBias);
    }

    /** A copy of the normalized shape. */
    public int[] normalizedShape() {
        return normalizedShape.clone();
    }

    public double eps() {
        return eps;
    }
}
