package dev.vecnorm.bench.compare;

import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;

/**
 * The float64 oracle of compare's family suites: LayerNorm, RMSNorm and GroupNorm (either layout) written from
 * their formulas in double from the float32 inputs (two-pass statistics), independent of the engine's kernels,
 * as {@code dev.vecnorm.testing.Float64Reference} is for BatchNorm; and the layout and epilogue helpers that let
 * that BatchNorm oracle check the channels-last and fused forms. Backward passes take the statistics the forward
 * saved (float32), as Float64Reference's does: they check the gradient of what was computed.
 */
final class FamilyReference {

    private FamilyReference() {
    }

    /** A forward's output and statistics, in double. {@code mean} is null for RMSNorm. */
    record Forward(double[] y, double[] mean, double[] invStd) {
    }

    /** dx and the parameter gradients, in double. {@code dbeta} is null for RMSNorm. */
    record Gradients(double[] dx, double[] dgamma, double[] dbeta) {
    }

    /** LayerNorm of {@code rows} rows of {@code width} contiguous elements, biased variance. */
    static Forward layerNorm(int rows, int width, float[] x, float[] gamma, float[] beta, double eps) {
        double[] y = new double[rows * width];
        double[] mean = new double[rows];
        double[] invStd = new double[rows];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            double sum = 0;
            for (int j = 0; j < width; j++) {
                sum += x[at + j];
            }
            double m = sum / width;
            double sq = 0;
            for (int j = 0; j < width; j++) {
                double d = x[at + j] - m;
                sq += d * d;
            }
            double inv = 1.0 / Math.sqrt(sq / width + eps);
            mean[r] = m;
            invStd[r] = inv;
            for (int j = 0; j < width; j++) {
                y[at + j] = (x[at + j] - m) * inv * param(gamma, j, 1) + param(beta, j, 0);
            }
        }
        return new Forward(y, mean, invStd);
    }

    /**
     * LayerNorm backward from the saved row mean and inverse std: with g = dy * gamma and xhat = (x - mean) *
     * invStd, dx = invStd * (g - mean(g) - xhat * mean(g * xhat)); dgamma = sum over rows of dy * xhat, dbeta of dy.
     */
    static Gradients layerNormBackward(int rows, int width, float[] dy, float[] x, float[] gamma, float[] mean,
            float[] invStd) {
        double[] dx = new double[rows * width];
        double[] dgamma = new double[width];
        double[] dbeta = new double[width];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            double m = mean[r];
            double inv = invStd[r];
            double sumG = 0;
            double sumGX = 0;
            for (int j = 0; j < width; j++) {
                double g = (double) dy[at + j] * param(gamma, j, 1);
                double xhat = (x[at + j] - m) * inv;
                sumG += g;
                sumGX += g * xhat;
                dgamma[j] += dy[at + j] * xhat;
                dbeta[j] += dy[at + j];
            }
            for (int j = 0; j < width; j++) {
                double g = (double) dy[at + j] * param(gamma, j, 1);
                double xhat = (x[at + j] - m) * inv;
                dx[at + j] = inv * (g - sumG / width - xhat * sumGX / width);
            }
        }
        return new Gradients(dx, dgamma, dbeta);
    }

    /** RMSNorm: y = x / sqrt(mean(x^2) + eps) * gamma per row; {@code invStd} holds the inverse RMS. */
    static Forward rmsNorm(int rows, int width, float[] x, float[] gamma, double eps) {
        double[] y = new double[rows * width];
        double[] invRms = new double[rows];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            double sq = 0;
            for (int j = 0; j < width; j++) {
                sq += (double) x[at + j] * x[at + j];
            }
            double inv = 1.0 / Math.sqrt(sq / width + eps);
            invRms[r] = inv;
            for (int j = 0; j < width; j++) {
                y[at + j] = x[at + j] * inv * param(gamma, j, 1);
            }
        }
        return new Forward(y, null, invRms);
    }

    /**
     * RMSNorm backward from the saved inverse RMS r: with g = dy * gamma, dx = r * g - x * r^3 * mean(g * x);
     * dgamma = sum over rows of dy * x * r.
     */
    static Gradients rmsNormBackward(int rows, int width, float[] dy, float[] x, float[] gamma, float[] invRms) {
        double[] dx = new double[rows * width];
        double[] dgamma = new double[width];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            double inv = invRms[r];
            double sumGX = 0;
            for (int j = 0; j < width; j++) {
                sumGX += (double) dy[at + j] * param(gamma, j, 1) * x[at + j];
                dgamma[j] += (double) dy[at + j] * x[at + j] * inv;
            }
            double c = inv * inv * inv * sumGX / width;
            for (int j = 0; j < width; j++) {
                dx[at + j] = inv * ((double) dy[at + j] * param(gamma, j, 1)) - x[at + j] * c;
            }
        }
        return new Gradients(dx, dgamma, null);
    }

    /** Index of logical element (i, ch, j) of a tensor of (N, C, S) stored in {@code layout}. */
    static int at(Layout layout, NcsShape sh, int i, int ch, int j) {
        return layout == Layout.CHANNELS_FIRST ? (i * sh.c() + ch) * sh.s() + j : (i * sh.s() + j) * sh.c() + ch;
    }

    /**
     * GroupNorm of a (N, C, S) tensor stored in {@code layout}: each (sample, group of C/G consecutive channels)
     * normalized with its mean and biased variance, then gamma and beta per channel. Statistics sample-major.
     */
    static Forward groupNorm(Layout layout, NcsShape sh, int groups, float[] x, float[] gamma, float[] beta,
            double eps) {
        int cpg = sh.c() / groups;
        double count = (double) cpg * sh.s();
        double[] y = new double[sh.size()];
        double[] mean = new double[sh.n() * groups];
        double[] invStd = new double[sh.n() * groups];
        for (int i = 0; i < sh.n(); i++) {
            for (int g = 0; g < groups; g++) {
                double sum = 0;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    for (int j = 0; j < sh.s(); j++) {
                        sum += x[at(layout, sh, i, ch, j)];
                    }
                }
                double m = sum / count;
                double sq = 0;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    for (int j = 0; j < sh.s(); j++) {
                        double d = x[at(layout, sh, i, ch, j)] - m;
                        sq += d * d;
                    }
                }
                double inv = 1.0 / Math.sqrt(sq / count + eps);
                mean[i * groups + g] = m;
                invStd[i * groups + g] = inv;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    for (int j = 0; j < sh.s(); j++) {
                        int k = at(layout, sh, i, ch, j);
                        y[k] = (x[k] - m) * inv * param(gamma, ch, 1) + param(beta, ch, 0);
                    }
                }
            }
        }
        return new Forward(y, mean, invStd);
    }

    /**
     * GroupNorm backward from the saved (sample, group) mean and inverse std: per group of M = (C/G) * S values,
     * with g = dy * gamma_c and xhat = (x - mean) * invStd, dx = invStd * (g - mean(g) - xhat * mean(g * xhat));
     * dgamma_c = sum of dy * xhat, dbeta_c = sum of dy over samples and positions.
     */
    static Gradients groupNormBackward(Layout layout, NcsShape sh, int groups, float[] dy, float[] x,
            float[] gamma, float[] mean, float[] invStd) {
        int cpg = sh.c() / groups;
        double count = (double) cpg * sh.s();
        double[] dx = new double[sh.size()];
        double[] dgamma = new double[sh.c()];
        double[] dbeta = new double[sh.c()];
        for (int i = 0; i < sh.n(); i++) {
            for (int g = 0; g < groups; g++) {
                double m = mean[i * groups + g];
                double inv = invStd[i * groups + g];
                double sumG = 0;
                double sumGX = 0;
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    for (int j = 0; j < sh.s(); j++) {
                        int k = at(layout, sh, i, ch, j);
                        double gr = (double) dy[k] * param(gamma, ch, 1);
                        double xhat = (x[k] - m) * inv;
                        sumG += gr;
                        sumGX += gr * xhat;
                        dgamma[ch] += dy[k] * xhat;
                        dbeta[ch] += dy[k];
                    }
                }
                for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                    for (int j = 0; j < sh.s(); j++) {
                        int k = at(layout, sh, i, ch, j);
                        double gr = (double) dy[k] * param(gamma, ch, 1);
                        double xhat = (x[k] - m) * inv;
                        dx[k] = inv * (gr - sumG / count - xhat * sumGX / count);
                    }
                }
            }
        }
        return new Gradients(dx, dgamma, dbeta);
    }

    /** A channels-last (N, S, C) tensor's elements in channels-first (N, C, S) order: a copy, exact. */
    static float[] toChannelsFirst(NcsShape sh, float[] channelsLast) {
        float[] out = new float[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int j = 0; j < sh.s(); j++) {
                for (int ch = 0; ch < sh.c(); ch++) {
                    out[(i * sh.c() + ch) * sh.s() + j] = channelsLast[(i * sh.s() + j) * sh.c() + ch];
                }
            }
        }
        return out;
    }

    /** A channels-first (N, C, S) tensor's elements in channels-last (N, S, C) order. */
    static float[] toChannelsLast(NcsShape sh, float[] channelsFirst) {
        float[] out = new float[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    out[(i * sh.s() + j) * sh.c() + ch] = channelsFirst[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return out;
    }

    /** The same, for a float64 reference. */
    static double[] toChannelsLast(NcsShape sh, double[] channelsFirst) {
        double[] out = new double[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    out[(i * sh.s() + j) * sh.c() + ch] = channelsFirst[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return out;
    }

    /** max(0, y + z) element-wise (z may be null), in double: the fused epilogues' reference. */
    static double[] addRelu(double[] y, float[] z) {
        double[] out = new double[y.length];
        for (int k = 0; k < y.length; k++) {
            out[k] = Math.max(0.0, y[k] + (z == null ? 0.0 : z[k]));
        }
        return out;
    }

    private static double param(float[] p, int k, double absent) {
        return p == null ? absent : p[k];
    }
}
