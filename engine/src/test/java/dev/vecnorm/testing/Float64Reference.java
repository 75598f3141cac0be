package dev.vecnorm.testing;

import dev.vecnorm.NcsShape;

/**
 * The oracle: batch normalization computed in double from float32 inputs, written straight from the formulas
 * (two-pass mean and variance). Independent of the engine's kernels; tests compare both implementations to it.
 */
public final class Float64Reference {

    private Float64Reference() {
    }

    /** Batch statistics and output of a training forward pass, all in double. */
    public record Training(double[] mean, double[] variance, double[] invStd, double[] y) {
    }

    public static double[] mean(NcsShape sh, float[] x) {
        double[] mean = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            double sum = 0;
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    sum += x[at(sh, i, ch, j)];
                }
            }
            mean[ch] = sum / sh.perChannel();
        }
        return mean;
    }

    /** Biased (population) variance per channel. */
    public static double[] variance(NcsShape sh, float[] x, double[] mean) {
        double[] var = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            double sum = 0;
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    double d = x[at(sh, i, ch, j)] - mean[ch];
                    sum += d * d;
                }
            }
            var[ch] = sum / sh.perChannel();
        }
        return var;
    }

    public static Training training(NcsShape sh, float[] x, float[] gamma, float[] beta, double eps) {
        double[] mean = mean(sh, x);
        double[] var = variance(sh, x, mean);
        double[] invStd = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            invStd[ch] = 1.0 / Math.sqrt(var[ch] + eps);
        }
        double[] y = normalize(sh, x, mean, invStd, gamma, beta);
        return new Training(mean, var, invStd, y);
    }

    public static double[] inference(NcsShape sh, float[] x, float[] gamma, float[] beta, float[] mean,
            float[] var, double eps) {
        double[] m = new double[sh.c()];
        double[] invStd = new double[sh.c()];
        for (int ch = 0; ch < sh.c(); ch++) {
            m[ch] = mean[ch];
            invStd[ch] = 1.0 / Math.sqrt((double) var[ch] + eps);
        }
        return normalize(sh, x, m, invStd, gamma, beta);
    }

    private static double[] normalize(NcsShape sh, float[] x, double[] mean, double[] invStd, float[] gamma,
            float[] beta) {
        double[] y = new double[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                double g = gamma == null ? 1 : gamma[ch];
                double b = beta == null ? 0 : beta[ch];
                for (int j = 0; j < sh.s(); j++) {
                    int k = at(sh, i, ch, j);
                    y[k] = (x[k] - mean[ch]) * invStd[ch] * g + b;
                }
            }
        }
        return y;
    }

    /** Gradients: dx, dgamma, dbeta. */
    public record Gradients(double[] dx, double[] dgamma, double[] dbeta) {
    }

    /** Backward with batch statistics given as (saved) mean and inverse std. */
    public static Gradients backward(NcsShape sh, float[] dy, float[] x, float[] gamma, float[] mean,
            float[] invStd) {
        int c = sh.c();
        double[] dbeta = new double[c];
        double[] dgamma = new double[c];
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    int k = at(sh, i, ch, j);
                    dbeta[ch] += dy[k];
                    dgamma[ch] += dy[k] * ((x[k] - (double) mean[ch]) * invStd[ch]);
                }
            }
        }
        double m = sh.perChannel();
        double[] dx = new double[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < c; ch++) {
                double g = gamma == null ? 1 : gamma[ch];
                for (int j = 0; j < sh.s(); j++) {
                    int k = at(sh, i, ch, j);
                    double xhat = (x[k] - (double) mean[ch]) * invStd[ch];
                    dx[k] = g * invStd[ch] / m * (m * dy[k] - dbeta[ch] - xhat * dgamma[ch]);
                }
            }
        }
        return new Gradients(dx, dgamma, dbeta);
    }

    /** Backward with frozen (running) statistics: mean and variance are constants. */
    public static Gradients backwardFrozen(NcsShape sh, float[] dy, float[] x, float[] gamma, float[] mean,
            float[] var, double eps) {
        int c = sh.c();
        double[] dbeta = new double[c];
        double[] dgamma = new double[c];
        double[] dx = new double[sh.size()];
        for (int ch = 0; ch < c; ch++) {
            double invStd = 1.0 / Math.sqrt((double) var[ch] + eps);
            double g = gamma == null ? 1 : gamma[ch];
            for (int i = 0; i < sh.n(); i++) {
                for (int j = 0; j < sh.s(); j++) {
                    int k = at(sh, i, ch, j);
                    dbeta[ch] += dy[k];
                    dgamma[ch] += dy[k] * (x[k] - (double) mean[ch]) * invStd;
                    dx[k] = dy[k] * g * invStd;
                }
            }
        }
        return new Gradients(dx, dgamma, dbeta);
    }

    /** Index of element (i, ch, j) in a dense NCS tensor. */
    public static int at(NcsShape sh, int i, int ch, int j) {
        return (i * sh.c() + ch) * sh.s() + j;
    }
}
