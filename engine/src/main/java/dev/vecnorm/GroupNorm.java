package dev.vecnorm;

/**
 * Group normalization with the behaviour of {@code torch.nn.GroupNorm}: the C channels of an (N, C, spatial...)
 * input form {@code numGroups} groups of consecutive channels, each (sample, group) is normalized with its own
 * mean and variance, then each channel is scaled and shifted by its weight and bias (optional). No running
 * statistics. Channels-first or channels-last ({@link #forward(Layout, int[], float[], int, float[], int)}).
 * Not thread-safe; backward reads the last forward's input.
 */
public final class GroupNorm extends NormLayer {

    private final int numGroups;
    private final int numChannels;
    private final double eps;
    private final float[] weight;
    private final float[] bias;
    private final GroupNormOps ops = GroupNormOps.get();
    private float[] savedMean = new float[0];
    private float[] savedInvStd = new float[0];

    /** {@code torch.nn.GroupNorm(numGroups, numChannels)}: eps 1e-5, per-channel weight and bias. */
    public GroupNorm(int numGroups, int numChannels) {
        this(numGroups, numChannels, 1e-5, true);
    }

    /** @throws IllegalArgumentException if numGroups does not divide numChannels, or eps is negative or NaN */
    public GroupNorm(int numGroups, int numChannels, double eps, boolean affine) {
        super(affine ? LayerNorm.filled(positive(numChannels), 1f) : null, affine ? new float[numChannels] : null);
        positive(numChannels);
        if (numGroups < 1 || numChannels % numGroups != 0) {
            throw new IllegalArgumentException("numGroups must divide numChannels = " + numChannels + ", got "
                    + numGroups);
        }
        Checks.epsilon(eps);
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        this.weight = affine ? parameters().get(0).value() : null;
        this.bias = affine ? parameters().get(1).value() : null;
    }

    private static int positive(int numChannels) {
        if (numChannels < 1) {
            throw new IllegalArgumentException("numChannels must be >= 1, got " + numChannels);
        }
        return numChannels;
    }

    @Override
    String name() {
        return "GroupNorm";
    }

    @Override
    public void forward(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        normalize(Layout.CHANNELS_FIRST, shape, x, xOffset, y, yOffset);
    }

    @Override
    void forwardChannelsLast(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        normalize(Layout.CHANNELS_LAST, shape, x, xOffset, y, yOffset);
    }

    private void normalize(Layout layout, int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        NcsShape sh = NcsShape.of(shape);
        if (sh.c() != numChannels) {
            throw new IllegalArgumentException("expected " + numChannels + " channels, got input shape "
                    + java.util.Arrays.toString(shape));
        }
        int statistics = sh.n() * numGroups;
        float[] mean = savedMean.length == statistics ? savedMean : new float[statistics];
        float[] invStd = savedInvStd.length == statistics ? savedInvStd : new float[statistics];
        ops.forward(layout, shape, numGroups, x, xOffset, y, yOffset, weight, bias, eps, mean, invStd);
        savedMean = mean;
        savedInvStd = invStd;
        remember(layout, shape, x, xOffset, overlaps(x, xOffset, y, yOffset, sh.size()));
    }

    @Override
    public void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight, float[] dBias) {
        requireForward();
        ops.backward(lastLayout, lastShape, numGroups, dy, dyOffset, lastX, lastXOffset, weight, savedMean,
                savedInvStd, dx, dxOffset, dWeight, dBias);
    }

    public int numGroups() {
        return numGroups;
    }

    public int numChannels() {
        return numChannels;
    }

    public double eps() {
        return eps;
    }
}
