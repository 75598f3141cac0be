package dev.vecnorm;

import java.util.Arrays;

/**
 * Instance normalization with the behaviour of {@code torch.nn.InstanceNorm1d/2d/3d} on batched inputs
 * (N, C, spatial...): each (sample, channel) is normalized over its spatial positions. As in torch, affine and
 * running statistics are off by default; with {@code trackRunningStats}, training moves the running mean and
 * variance by {@code momentum} towards the batch's average instance mean and unbiased instance variance, and
 * eval mode normalizes with them per channel. Not thread-safe; backward reads the last forward's input.
 */
public final class InstanceNorm extends NormLayer {

    private final int numFeatures;
    private final double eps;
    private final double momentum;
    private final boolean trackRunningStats;
    private final float[] weight;
    private final float[] bias;
    private final float[] runningMean;
    private final float[] runningVar;
    private final float[] frozenMean;
    private final float[] frozenVar;
    private final GroupNormOps groupOps = GroupNormOps.get();
    private final BatchNormOps batchOps = BatchNormOps.get();
    private boolean training = true;
    private boolean lastUsedInstanceStats;
    private float[] savedMean = new float[0];
    private float[] savedInvStd = new float[0];

    /** {@code torch.nn.InstanceNorm2d(numFeatures)}: eps 1e-5, momentum 0.1, no affine, no running stats. */
    public InstanceNorm(int numFeatures) {
        this(numFeatures, 1e-5, 0.1, false, false);
    }

    /** @throws IllegalArgumentException if numFeatures &lt; 1, eps is negative or NaN, momentum outside [0, 1] */
    public InstanceNorm(int numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        super(affine ? LayerNorm.filled(positive(numFeatures), 1f) : null, affine ? new float[numFeatures] : null);
        positive(numFeatures);
        Checks.epsilon(eps);
        if (!(momentum >= 0.0 && momentum <= 1.0)) {
            throw new IllegalArgumentException("momentum must be in [0, 1], got " + momentum);
        }
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.trackRunningStats = trackRunningStats;
        this.weight = affine ? parameters().get(0).value() : null;
        this.bias = affine ? parameters().get(1).value() : null;
        this.runningMean = trackRunningStats ? new float[numFeatures] : null;
        this.runningVar = trackRunningStats ? LayerNorm.filled(numFeatures, 1f) : null;
        this.frozenMean = new float[numFeatures];
        this.frozenVar = new float[numFeatures];
    }

    private static int positive(int numFeatures) {
        if (numFeatures < 1) {
            throw new IllegalArgumentException("numFeatures must be >= 1, got " + numFeatures);
        }
        return numFeatures;
    }

    @Override
    String name() {
        return "InstanceNorm";
    }

    /** Training mode: instance statistics, running statistics updated when tracked. Returns this. */
    public InstanceNorm train() {
        training = true;
        return this;
    }

    /** Eval mode: the running statistics when tracked, else instance statistics as in training. Returns this. */
    public InstanceNorm eval() {
        training = false;
        return this;
    }

    public boolean isTraining() {
        return training;
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
        if (shape.length < 3 || sh.c() != numFeatures) {
            throw new IllegalArgumentException("expected input (N, " + numFeatures + ", spatial...), got "
                    + Arrays.toString(shape));
        }
        boolean overlap = overlaps(x, xOffset, y, yOffset, sh.size());
        boolean instanceStats = training || !trackRunningStats;
        if (instanceStats) {
            if (training && sh.s() == 1) {
                throw new IllegalArgumentException("expected more than 1 spatial element when training, got input "
                        + "shape " + Arrays.toString(shape));
            }
            if (overlap && training && trackRunningStats) {
                throw new IllegalArgumentException("y overlaps x: the running statistics are computed from x after"
                        + " normalizing, so the layer does not normalize in place while tracking them");
            }
            int statistics = sh.n() * sh.c();
            float[] mean = savedMean.length == statistics ? savedMean : new float[statistics];
            float[] invStd = savedInvStd.length == statistics ? savedInvStd : new float[statistics];
            // InstanceNorm is GroupNorm with one channel per group.
            groupOps.forward(layout, shape, sh.c(), x, xOffset, y, yOffset, weight, bias, eps, mean, invStd);
            savedMean = mean;
            savedInvStd = invStd;
            if (training && trackRunningStats) {
                updateRunningStats(layout, sh, x, xOffset);
            }
        } else {
            batchOps.forwardInference(layout, shape, x, xOffset, y, yOffset, weight, bias, runningMean, runningVar,
                    eps);
            System.arraycopy(runningMean, 0, frozenMean, 0, numFeatures);
            System.arraycopy(runningVar, 0, frozenVar, 0, numFeatures);
        }
        lastUsedInstanceStats = instanceStats;
        remember(layout, shape, x, xOffset, overlap);
    }

    /**
     * torch's rule: each instance's (mean, unbiased variance) moves a copy of its channel's running value by
     * momentum, and the copies are averaged over the batch; in double, from the instance moments.
     */
    private void updateRunningStats(Layout layout, NcsShape sh, float[] x, int xOffset) {
        int n = sh.n();
        int c = sh.c();
        double[] meanSum = new double[c];
        double[] varianceSum = new double[c];
        for (int i = 0; i < n; i++) {
            // One sample's channels: (1, C, S) in the tensor's layout.
            ChannelMoments instances = batchOps.moments(layout, new int[] {1, c, sh.s()}, x,
                    xOffset + i * c * sh.s());
            double[] mean = instances.mean();
            double[] variance = instances.unbiasedVariance();
            for (int ch = 0; ch < c; ch++) {
                meanSum[ch] += mean[ch];
                varianceSum[ch] += variance[ch];
            }
        }
        for (int ch = 0; ch < c; ch++) {
            runningMean[ch] = (float) ((1 - momentum) * runningMean[ch] + momentum * meanSum[ch] / n);
            runningVar[ch] = (float) ((1 - momentum) * runningVar[ch] + momentum * varianceSum[ch] / n);
        }
    }

    @Override
    public void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight, float[] dBias) {
        requireForward();
        if (lastUsedInstanceStats) {
            groupOps.backward(lastLayout, lastShape, numFeatures, dy, dyOffset, lastX, lastXOffset, weight,
                    savedMean, savedInvStd, dx, dxOffset, dWeight, dBias);
        } else {
            batchOps.backwardFrozen(lastLayout, lastShape, dy, dyOffset, lastX, lastXOffset, weight, frozenMean,
                    frozenVar, eps, dx, dxOffset, dWeight, dBias);
        }
    }

    /** A copy of the running mean, or null when running stats are not tracked. */
    public float[] runningMean() {
        return runningMean == null ? null : runningMean.clone();
    }

    /** A copy of the running variance, or null when running stats are not tracked. */
    public float[] runningVar() {
        return runningVar == null ? null : runningVar.clone();
    }

    public int numFeatures() {
        return numFeatures;
    }
}
