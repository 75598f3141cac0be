package dev.vecnorm;

/**
 * Running statistics that a training forward pass updates in place, with the convention and momentum to use.
 *
 * @param mean running mean, length C, updated in place
 * @param variance running variance, length C, updated in place
 * @param convention which framework's update rule applies
 * @param momentum in [0, 1]; its meaning depends on {@code convention}
 */
public record RunningStats(float[] mean, float[] variance, RunningStatsConvention convention, double momentum) {

    public RunningStats {
        if (mean == null || variance == null) {
            throw new IllegalArgumentException("running mean and variance must not be null");
        }
        if (mean == variance) {
            throw new IllegalArgumentException("running mean and running variance must be different arrays");
        }
        if (mean.length != variance.length) {
            throw new IllegalArgumentException("running mean has length " + mean.length
                    + " but running variance has length " + variance.length);
        }
        if (convention == null) {
            throw new IllegalArgumentException("convention must not be null");
        }
        if (!(momentum >= 0.0 && momentum <= 1.0)) {
            throw new IllegalArgumentException("momentum must be in [0, 1], got " + momentum);
        }
    }

    /** PyTorch convention with the given momentum (weight of the new batch). */
    public static RunningStats pytorch(float[] mean, float[] variance, double momentum) {
        return new RunningStats(mean, variance, RunningStatsConvention.PYTORCH, momentum);
    }

    /** ONNX convention with the given momentum (weight of the old running value). */
    public static RunningStats onnx(float[] mean, float[] variance, double momentum) {
        return new RunningStats(mean, variance, RunningStatsConvention.ONNX, momentum);
    }
}
