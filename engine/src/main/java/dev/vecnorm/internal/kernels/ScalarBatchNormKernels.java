package dev.vecnorm.internal.kernels;

/**
 * The reference implementation: plain loops in double precision, written to be read. Every fast path is tested
 * against it, and it is the fallback when the Vector API is not available.
 */
final class ScalarBatchNormKernels implements BatchNormKernels {

    static final ScalarBatchNormKernels INSTANCE = new ScalarBatchNormKernels();

    private ScalarBatchNormKernels() {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            double[] mean, double[] variance) {
        long count = (long) n * s;
        for (int ch = c0; ch < c1; ch++) {
            // Two passes in double: exact enough to be the oracle, and obviously right.
            double sum = 0;
            for (int i = 0; i < n; i++) {
                int run = xOffset + (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    sum += x[run + j];
                }
            }
            double m = sum / count;
            double squares = 0;
            for (int i = 0; i < n; i++) {
                int run = xOffset + (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    double d = x[run + j] - m;
                    squares += d * d;
                }
            }
            mean[ch] = m;
            variance[ch] = squares / count;
        }
    }

    @Override
    public void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            double center = (double) centerHi[ch] + centerLo[ch];
            double a = scale[ch];
            double b = shift[ch];
            for (int i = 0; i < n; i++) {
                int in = xOffset + (i * c + ch) * s;
                int out = yOffset + (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    y[out + j] = (float) ((x[in + j] - center) * a + b);
                }
            }
        }
    }

    @Override
    public void affineFused(float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        for (int ch = c0; ch < c1; ch++) {
            double center = (double) centerHi[ch] + centerLo[ch];
            double a = scale[ch];
            double b = shift[ch];
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    double v = (x[xOffset + run + j] - center) * a + b;
                    if (z != null) {
                        v += z[zOffset + run + j];
                    }
                    y[yOffset + run + j] = (float) (relu ? Math.max(0.0, v) : v);
                }
            }
        }
    }

    @Override
    public void gradientSums(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s, int c0,
            int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        for (int ch = c0; ch < c1; ch++) {
            double m = center[ch];
            double sDy = 0;
            double sDyXc = 0;
            for (int i = 0; i < n; i++) {
                int g = dyOffset + (i * c + ch) * s;
                int in = xOffset + (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    double d = dy[g + j];
                    sDy += d;
                    sDyXc += d * (x[in + j] - m);
                }
            }
            sumDy[ch] = sDy;
            sumDyCentered[ch] = sDyXc;
        }
    }

    @Override
    public void gradientInput(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset,
            int n, int c, int s, int c0, int c1,
            float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        for (int ch = c0; ch < c1; ch++) {
            double m = center[ch];
            double a = dyScale[ch];
            double b = centeredScale[ch];
            double d = shift[ch];
            for (int i = 0; i < n; i++) {
                int g = dyOffset + (i * c + ch) * s;
                int in = xOffset + (i * c + ch) * s;
                int out = dxOffset + (i * c + ch) * s;
                for (int j = 0; j < s; j++) {
                    dx[out + j] = (float) (dy[g + j] * a - (x[in + j] - m) * b - d);
                }
            }
        }
    }
}
