package dev.vecnorm;

/**
 * How running (moving-average) statistics absorb a batch. The two frameworks disagree on which side momentum
 * weighs and on the variance they average, so vecnorm names the convention instead of guessing.
 */
public enum RunningStatsConvention {
    /**
     * {@code torch.nn.BatchNorm}: {@code running = (1 - m) * running + m * batch}, default m = 0.1, and the
     * running variance averages the <em>unbiased</em> batch variance (times M/(M-1), M = N*S).
     */
    PYTORCH(0.1) {
        @Override
        double mix(double running, double batch, double momentum) {
            return (1.0 - momentum) * running + momentum * batch;
        }

        @Override
        double varianceToAverage(double biasedVariance, long count) {
            return biasedVariance * count / (count - 1);
        }
    },
    /**
     * ONNX BatchNormalization (training_mode=1) and the d2l textbook: {@code running = m * running + (1 - m) *
     * batch}, default m = 0.9, with the <em>biased</em> batch variance.
     */
    ONNX(0.9) {
        @Override
        double mix(double running, double batch, double momentum) {
            return momentum * running + (1.0 - momentum) * batch;
        }

        @Override
        double varianceToAverage(double biasedVariance, long count) {
            return biasedVariance;
        }
    };

    private final double defaultMomentum;

    RunningStatsConvention(double defaultMomentum) {
        this.defaultMomentum = defaultMomentum;
    }

    /** The framework's default momentum: 0.1 for PyTorch, 0.9 for ONNX. */
    public double defaultMomentum() {
        return defaultMomentum;
    }

    /** One step of the moving average with this convention's meaning of {@code momentum}. */
    abstract double mix(double running, double batch, double momentum);

    /** The batch variance this convention averages, from the biased one over {@code count} values. */
    abstract double varianceToAverage(double biasedVariance, long count);
}
