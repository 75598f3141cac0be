package dev.vecnorm;

/**
 * Folds an inference-mode batch norm, {@code bn(v) = (v - mean) / sqrt(var + eps) * gamma + beta} per channel,
 * into the weights of the layer next to it, so that inference runs one layer instead of two. All folded values
 * are computed in double and rounded once.
 *
 * <ul>
 *   <li>{@link #intoPreceding}: a convolution (weight OIHW, or any O x ... layout with output channels first)
 *       or linear layer (weight OI) followed by the batch norm over its output channels:
 *       {@code W'[o] = W[o] * k_o}, {@code b'_o = (b_o - mean_o) * k_o + beta_o} with
 *       {@code k_o = gamma_o / sqrt(var_o + eps)}.</li>
 *   <li>{@link #intoFollowingLinear}: a batch norm over the input features of a linear layer (BatchNorm1d
 *       before Linear): {@code W'[o][i] = W[o][i] * k_i}, {@code b'_o = b_o + sum_i W[o][i] * (beta_i - mean_i *
 *       k_i)}. A convolution after a batch norm is not offered: with zero padding the border outputs would see
 *       the shift where the original saw zeros.</li>
 * </ul>
 */
public final class BatchNormFolding {

    private BatchNormFolding() {
    }

    /** The folded layer: weight in the input's layout, and a bias (always present after folding). */
    public record Folded(float[] weight, float[] bias) {
    }

    /**
     * Folds the batch norm that follows a convolution or linear layer into its weight and bias.
     *
     * @param weight the layer's weight, output channels first (OIHW, OIDHW, OI), length O * (everything else)
     * @param outChannels O, which must equal the batch norm's channel count
     * @param bias the layer's bias (length O), or null for a layer without one
     * @param gamma the batch norm's weight (length O), or null for 1
     * @param beta the batch norm's bias (length O), or null for 0
     * @param runningMean the statistics inference uses (length O)
     * @param runningVar the statistics inference uses (length O), each finite and >= 0
     * @param eps the batch norm's eps, finite and >= 0
     * @throws IllegalArgumentException on a length mismatch, missing statistics, a negative or NaN variance or
     *     eps, or a zero denominator (var + eps == 0)
     */
    public static Folded intoPreceding(float[] weight, int outChannels, float[] bias, float[] gamma, float[] beta,
            float[] runningMean, float[] runningVar, double eps) {
        double[] k = factors(outChannels, gamma, runningMean, runningVar, eps);
        if (weight == null || weight.length == 0 || weight.length % outChannels != 0) {
            throw new IllegalArgumentException("weight must have a multiple of outChannels=" + outChannels
                    + " values, got " + (weight == null ? "null" : weight.length));
        }
        Checks.channels("bias", bias, outChannels, true);
        Checks.channels("beta", beta, outChannels, true);
        int perOutput = weight.length / outChannels;
        float[] folded = new float[weight.length];
        float[] foldedBias = new float[outChannels];
        for (int o = 0; o < outChannels; o++) {
            for (int j = 0; j < perOutput; j++) {
                folded[o * perOutput + j] = (float) (weight[o * perOutput + j] * k[o]);
            }
            double b = bias == null ? 0.0 : bias[o];
            foldedBias[o] = (float) ((b - runningMean[o]) * k[o] + (beta == null ? 0.0 : beta[o]));
        }
        return new Folded(folded, foldedBias);
    }

    /**
     * Folds a batch norm over a linear layer's input features into that layer.
     *
     * @param weight the linear layer's weight, OI (row o holds input features 0..I-1)
     * @param outFeatures O
     * @param bias the linear layer's bias (length O), or null
     * @param gamma the batch norm's weight (length I), or null for 1; beta, runningMean, runningVar likewise
     *     of length I
     * @throws IllegalArgumentException as {@link #intoPreceding}
     */
    public static Folded intoFollowingLinear(float[] weight, int outFeatures, float[] bias, float[] gamma,
            float[] beta, float[] runningMean, float[] runningVar, double eps) {
        if (outFeatures < 1) {
            throw new IllegalArgumentException("outFeatures must be >= 1, got " + outFeatures);
        }
        if (weight == null || weight.length == 0 || weight.length % outFeatures != 0) {
            throw new IllegalArgumentException("weight must have a multiple of outFeatures=" + outFeatures
                    + " values, got " + (weight == null ? "null" : weight.length));
        }
        int in = weight.length / outFeatures;
        double[] k = factors(in, gamma, runningMean, runningVar, eps);
        Checks.channels("bias", bias, outFeatures, true);
        Checks.channels("beta", beta, in, true);
        float[] folded = new float[weight.length];
        float[] foldedBias = new float[outFeatures];
        for (int o = 0; o < outFeatures; o++) {
            double b = bias == null ? 0.0 : bias[o];
            for (int i = 0; i < in; i++) {
                double w = weight[o * in + i];
                folded[o * in + i] = (float) (w * k[i]);
                b += w * ((beta == null ? 0.0 : beta[i]) - runningMean[i] * k[i]);
            }
            foldedBias[o] = (float) b;
        }
        return new Folded(folded, foldedBias);
    }

    /**
     * Folds an eval-mode {@link BatchNorm} layer that follows a convolution or linear layer (see
     * {@link #intoPreceding(float[], int, float[], float[], float[], float[], float[], double)}).
     *
     * @throws IllegalArgumentException if the layer is in training mode (its output depends on the batch), keeps
     *     no running statistics, or does not have {@code outChannels} features
     */
    public static Folded intoPreceding(float[] weight, int outChannels, float[] bias, BatchNorm layer) {
        if (layer == null) {
            throw new IllegalArgumentException("layer must not be null");
        }
        if (layer.isTraining()) {
            throw new IllegalArgumentException("the layer is in training mode, where it normalizes with batch"
                    + " statistics; fold it after eval()");
        }
        if (!layer.trackRunningStats()) {
            throw new IllegalArgumentException("the layer keeps no running statistics (trackRunningStats = false),"
                    + " so it normalizes with batch statistics even in eval mode and cannot be folded");
        }
        if (layer.numFeatures() != outChannels) {
            throw new IllegalArgumentException("the layer has " + layer.numFeatures() + " features, the weight "
                    + outChannels + " output channels");
        }
        return intoPreceding(weight, outChannels, bias, layer.weight(), layer.bias(), layer.runningMean(),
                layer.runningVar(), layer.eps());
    }

    /** k_c = gamma_c / sqrt(var_c + eps), after checking the statistics. */
    private static double[] factors(int channels, float[] gamma, float[] mean, float[] variance, double eps) {
        if (channels < 1) {
            throw new IllegalArgumentException("channel count must be >= 1, got " + channels);
        }
        if (mean == null || variance == null) {
            throw new IllegalArgumentException("folding needs the running statistics (mean and variance); a batch"
                    + " norm without tracked statistics normalizes with batch statistics and cannot be folded");
        }
        Checks.channels("runningMean", mean, channels, false);
        Checks.channels("runningVar", variance, channels, false);
        Checks.channels("gamma", gamma, channels, true);
        Checks.epsilon(eps);
        double[] k = new double[channels];
        for (int ch = 0; ch < channels; ch++) {
            double v = variance[ch];
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("runningVar[" + ch + "] must be finite and >= 0, got " + v);
            }
            if (v + eps == 0) {
                throw new IllegalArgumentException("runningVar[" + ch + "] + eps is 0: channel " + ch
                        + " has no scale to fold");
            }
            k[ch] = (gamma == null ? 1.0 : gamma[ch]) / Math.sqrt(v + eps);
        }
        return k;
    }
}
