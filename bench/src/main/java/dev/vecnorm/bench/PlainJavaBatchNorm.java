package dev.vecnorm.bench;

/**
 * The best plain-Java scalar batch normalization we could write, as a benchmark baseline: no Vector API, float
 * arithmetic where it is safe, independent accumulators to hide latency, and loops simple enough for C2 to
 * auto-vectorize the element-wise passes. Statistics use a shifted sum/sum-of-squares in float per run and double
 * across runs (accurate enough for benchmark data; not for the hostile cases the engine handles).
 */
public final class PlainJavaBatchNorm {

    private PlainJavaBatchNorm() {
    }

    /** Training forward per channel (stats, then normalize while the channel is in cache). */
    public static void forwardTraining(int n, int c, int s, float[] x, float[] y, float[] gamma, float[] beta,
            double eps, float[] saveMean, float[] saveInvStd) {
        long count = (long) n * s;
        for (int ch = 0; ch < c; ch++) {
            float shift = x[ch * s];
            double sum = 0;
            double squares = 0;
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                float q0 = 0, q1 = 0, q2 = 0, q3 = 0;
                int j = 0;
                for (; j + 3 < s; j += 4) {
                    float d0 = x[run + j] - shift;
                    float d1 = x[run + j + 1] - shift;
                    float d2 = x[run + j + 2] - shift;
                    float d3 = x[run + j + 3] - shift;
                    a0 += d0;
                    a1 += d1;
                    a2 += d2;
                    a3 += d3;
                    q0 += d0 * d0;
                    q1 += d1 * d1;
                    q2 += d2 * d2;
                    q3 += d3 * d3;
                }
                for (; j < s; j++) {
                    float d = x[run + j] - shift;
                    a0 += d;
                    q0 += d * d;
                }
                sum += (a0 + a1) + (a2 + a3);
                squares += (q0 + q1) + (q2 + q3);
            }
            double meanShifted = sum / count;
            double var = Math.max(0, squares / count - meanShifted * meanShifted);
            double mean = shift + meanShifted;
            double invStd = 1 / Math.sqrt(var + eps);
            float scale = (float) (gamma[ch] * invStd);
            float offset = (float) (beta[ch] - mean * gamma[ch] * invStd);
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    y[run + j] = x[run + j] * scale + offset;
                }
            }
            saveMean[ch] = (float) mean;
            saveInvStd[ch] = (float) invStd;
        }
    }

    /** Inference: one auto-vectorizable pass per run. */
    public static void forwardInference(int n, int c, int s, float[] x, float[] y, float[] gamma, float[] beta,
            float[] mean, float[] var, double eps) {
        for (int ch = 0; ch < c; ch++) {
            double invStd = 1 / Math.sqrt(var[ch] + eps);
            float scale = (float) (gamma[ch] * invStd);
            float offset = (float) (beta[ch] - mean[ch] * gamma[ch] * invStd);
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    y[run + j] = x[run + j] * scale + offset;
                }
            }
        }
    }

    /** Backward from saved statistics: sums per channel, then dx while the channel is in cache. */
    public static void backward(int n, int c, int s, float[] dy, float[] x, float[] gamma, float[] saveMean,
            float[] saveInvStd, float[] dx, float[] dgamma, float[] dbeta) {
        double count = (double) n * s;
        for (int ch = 0; ch < c; ch++) {
            float m = saveMean[ch];
            double sumDy = 0;
            double sumDyXc = 0;
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                float g0 = 0, g1 = 0, h0 = 0, h1 = 0;
                int j = 0;
                for (; j + 1 < s; j += 2) {
                    float d0 = dy[run + j];
                    float d1 = dy[run + j + 1];
                    g0 += d0;
                    g1 += d1;
                    h0 += d0 * (x[run + j] - m);
                    h1 += d1 * (x[run + j + 1] - m);
                }
                for (; j < s; j++) {
                    g0 += dy[run + j];
                    h0 += dy[run + j] * (x[run + j] - m);
                }
                sumDy += g0 + g1;
                sumDyXc += h0 + h1;
            }
            double invStd = saveInvStd[ch];
            double k = gamma[ch] * invStd;
            float a = (float) k;
            float b = (float) (k * invStd * invStd * sumDyXc / count);
            float d = (float) (k * sumDy / count);
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    dx[run + j] = dy[run + j] * a - (x[run + j] - m) * b - d;
                }
            }
            dgamma[ch] = (float) (sumDyXc * invStd);
            dbeta[ch] = (float) sumDy;
        }
    }
}
