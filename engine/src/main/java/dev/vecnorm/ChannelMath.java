package dev.vecnorm;

import java.util.List;

/**
 * The per-channel arithmetic between batch-norm passes, in double: normalize coefficients from moments, Chan's
 * merge of slices, the input gradient's coefficients, parameter gradients and running statistics. Loops over C
 * values, never over the tensor.
 */
final class ChannelMath {

    private ChannelMath() {
    }

    /** invstd, the two-float center and the folded scale and shift of channels [c0, c1). */
    static void normalizationParameters(int c0, int c1, double[] mean, double[] variance, float[] gamma,
            float[] beta, double eps, double[] invStd, float[] centerHi, float[] centerLo, float[] scale,
            float[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            invStd[ch] = 1.0 / Math.sqrt(variance[ch] + eps);
            centerHi[ch] = (float) mean[ch];
            centerLo[ch] = (float) (mean[ch] - centerHi[ch]);
            scale[ch] = (float) (gammaOf(gamma, ch) * invStd[ch]);
            shift[ch] = betaOf(beta, ch);
        }
    }

    /** Chan's merge of the slices' moments, per channel in slice order. */
    static void mergeMoments(List<Tile> tiles, int channels, int s, double[][] sliceMean, double[][] sliceVar,
            double[] mean, double[] variance) {
        for (int ch = 0; ch < channels; ch++) {
            double count = 0;
            double mu = 0;
            double m2 = 0;
            for (Tile t : tiles) {
                if (ch < t.c0() || ch >= t.c1()) {
                    continue;
                }
                double nb = (double) (t.n1() - t.n0()) * s;
                double delta = sliceMean[t.slice()][ch] - mu;
                double total = count + nb;
                mu += delta * (nb / total);
                m2 += sliceVar[t.slice()][ch] * nb + delta * delta * (count * nb / total);
                count = total;
            }
            mean[ch] = mu;
            variance[ch] = m2 / count;
        }
    }

    /**
     * dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma), as dy * dyScale - (x - mean) * centeredScale - shift.
     */
    static void inputGradientParameters(int c0, int c1, float[] gamma, float[] invStdOf, double[] sumDy,
            double[] sumDyCentered, double count, double[] dyScale, double[] centeredScale, double[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            double invStd = invStdOf[ch];
            double k = gammaOf(gamma, ch) * invStd;
            dyScale[ch] = k;
            centeredScale[ch] = k * invStd * invStd * sumDyCentered[ch] / count;
            shift[ch] = k * sumDy[ch] / count;
        }
    }

    /** Per channel, the slices' backward sums added in slice order (a fixed order: bitwise reproducible). */
    static void addSlices(double[][] partDy, double[][] partDyCentered, int slices, int channels, double[] sumDy,
            double[] sumDyCentered) {
        for (int ch = 0; ch < channels; ch++) {
            double a = 0;
            double b = 0;
            for (int k = 0; k < slices; k++) {
                a += partDy[k][ch];
                b += partDyCentered[k][ch];
            }
            sumDy[ch] = a;
            sumDyCentered[ch] = b;
        }
    }

    static void writeParameterGradients(int c, double[] sumDy, double[] sumDyCentered, float[] invStd,
            float[] dgamma, float[] dbeta) {
        for (int ch = 0; ch < c; ch++) {
            if (dgamma != null) {
                dgamma[ch] = (float) (sumDyCentered[ch] * invStd[ch]);
            }
            if (dbeta != null) {
                dbeta[ch] = (float) sumDy[ch];
            }
        }
    }

    static void updateRunningStats(RunningStats running, double[] mean, double[] variance, long count) {
        RunningStatsConvention convention = running.convention();
        double m = running.momentum();
        float[] runningMean = running.mean();
        float[] runningVar = running.variance();
        for (int ch = 0; ch < runningMean.length; ch++) {
            runningMean[ch] = (float) convention.mix(runningMean[ch], mean[ch], m);
            runningVar[ch] = (float) convention.mix(runningVar[ch],
                    convention.varianceToAverage(variance[ch], count), m);
        }
    }

    /** Writes the saved statistics and moves the running ones: the last writes of a training forward. */
    static void finishTraining(int c, double[] mean, double[] variance, double[] invStd, float[] saveMean,
            float[] saveInvStd, RunningStats running, long perChannel) {
        for (int ch = 0; ch < c; ch++) {
            if (saveMean != null) {
                saveMean[ch] = (float) mean[ch];
            }
            if (saveInvStd != null) {
                saveInvStd[ch] = (float) invStd[ch];
            }
        }
        if (running != null) {
            updateRunningStats(running, mean, variance, perChannel);
        }
    }

    static double gammaOf(float[] gamma, int ch) {
        return gamma == null ? 1.0 : gamma[ch];
    }

    static float betaOf(float[] beta, int ch) {
        return beta == null ? 0f : beta[ch];
    }

    /**
     * Inference coefficients: {@code scale = gamma / sqrt(var + eps)} (gamma null: 1) and {@code shift = beta}
     * (null: 0), as every inference pass computes them.
     */
    static void inferenceScaleShift(int c, float[] gamma, float[] beta, float[] variance, double eps, float[] scale,
            float[] shift) {
        for (int ch = 0; ch < c; ch++) {
            scale[ch] = (float) (gammaOf(gamma, ch) / Math.sqrt((double) variance[ch] + eps));
            if (shift != null) {
                shift[ch] = betaOf(beta, ch);
            }
        }
    }
}
