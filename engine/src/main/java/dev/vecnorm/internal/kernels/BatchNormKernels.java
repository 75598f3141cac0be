package dev.vecnorm.internal.kernels;

/**
 * The stateless primitives of batch normalization over a tensor of extents (n, c, s) in NCHW order, restricted
 * to the channels {@code [c0, c1)}. Element (i, ch, j) lies at {@code offset + (i*c + ch)*s + j}.
 *
 * <p>Per-channel arrays are indexed by absolute channel (length at least {@code c1}). Implementations do not
 * validate: the functional API ({@link dev.vecnorm.BatchNormOps}) checks shapes, bounds and aliasing first.
 * Every method is safe to run concurrently on disjoint channel ranges. Outputs may alias inputs element for
 * element (same array, same offset) where a method says so; nothing else may overlap.
 */
public interface BatchNormKernels {

    /** A short name for logs and benchmark tables, e.g. "scalar" or "vector-512". */
    String name();

    /**
     * Batch mean and biased variance of each channel in {@code [c0, c1)} over its n*s values.
     *
     * @param mean receives the mean of channel ch at index ch
     * @param variance receives the biased (population) variance of channel ch at index ch
     */
    void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1, double[] mean, double[] variance);

    /**
     * Per-channel affine map {@code y = ((x - centerHi) - centerLo) * scale + shift}. The center is split in two
     * floats so that a mean known in double precision keeps its digits under large offsets (x - centerHi is exact
     * for x near the mean). {@code y} may be {@code x} at the same offset.
     */
    void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift);

    /**
     * LayerNorm's and RMSNorm's forward after the statistics, in one pass over {@code rows} rows of {@code width}
     * floats: per row the affine map of {@link #affine} ({@code t = ((x - centerHi[r]) - centerLo[r]) * scale[r]},
     * rounded as {@code affine} rounds it with a zero shift), then per element {@code y = fma(t, gamma[j], beta[j])}.
     * A null gamma means 1 and a null beta adds nothing ({@code t * gamma}, {@code t + beta} or t, exactly).
     * {@code y} may be {@code x} at the same offset. This default is the scalar reference.
     */
    default void normalizeRows(float[] x, int xOffset, float[] y, int yOffset, int rows, int width, float[] centerHi,
            float[] centerLo, float[] scale, float[] gamma, float[] beta) {
        for (int r = 0, at = 0; r < rows; r++, at += width) {
            float center = centerHi[r];
            float a = scale[r];
            float b = (float) (0.0 - (double) centerLo[r] * a);
            for (int j = 0; j < width; j++) {
                float t = Math.fma(x[xOffset + at + j] - center, a, b);
                y[yOffset + at + j] = Math.fma(t, gamma == null ? 1f : gamma[j], beta == null ? -0f : beta[j]);
            }
        }
    }

    /**
     * LayerNorm's backward over {@code rows} rows of {@code width} floats with per-row {@code mean} and
     * {@code invStd} (row k's at index {@code statsOffset + k}): per row, with {@code g = dy * gamma} (gamma null:
     * 1) and {@code xc = x - mean} in double, {@code a = sum(g)}, {@code b = sum(g * xc)} and, when dx is not
     * null, {@code dx = invStd * g - xc * invStd^3 * b / width - invStd * a / width}; over all rows, adds
     * {@code dy * xc * invStd} to dgamma's column sums at {@code columnSums[j]} and {@code dy} to dbeta's at
     * {@code columnSums[dbetaAt + j]} (none when dbetaAt is negative; callers put it {@link #dbetaOffset} past
     * dgamma's). A null {@code mean} is RMSNorm's form: {@code xc = x} and no {@code a} term. This default is the
     * scalar reference. dx must not overlap dy or x.
     */
    default void rowGradients(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset, int rows,
            int width, float[] gamma, float[] mean, float[] invStd, int statsOffset, double[] columnSums,
            int dbetaAt) {
        for (int k = 0; k < rows; k++) {
            double mu = mean == null ? 0.0 : mean[statsOffset + k];
            double inv = invStd[statsOffset + k];
            int row = k * width;
            double a = 0;
            double b = 0;
            for (int j = 0; j < width; j++) {
                double d = dy[dyOffset + row + j];
                double g = d * (gamma == null ? 1.0 : gamma[j]);
                double xc = x[xOffset + row + j] - mu;
                a += g;
                b = Math.fma(g, xc, b);
                columnSums[j] += d * xc * inv;
                if (dbetaAt >= 0) {
                    columnSums[dbetaAt + j] += d;
                }
            }
            if (dx != null) {
                double centered = inv * inv * inv * b / width;
                double shift = mean == null ? 0.0 : inv * a / width;
                for (int j = 0; j < width; j++) {
                    double g = dy[dyOffset + row + j] * (gamma == null ? 1.0 : gamma[j]);
                    double xc = x[xOffset + row + j] - mu;
                    dx[dxOffset + row + j] = (float) (inv * g - Math.fma(xc, centered, shift));
                }
            }
        }
    }

    /**
     * Where dbeta's column sums start after dgamma's in {@link #rowGradients}' one array: staggered from them
     * (StaggeredRows), since both are loaded and stored at the same column in every step; 16 B apart modulo a
     * page, as two arrays of 768 or 4096 doubles allocated one after the other can be, LayerNorm 4096x768's rows
     * took 2.90 ms against 2.59-2.62 ms with dbeta's row 64 B or 1.3 KiB further (scratch harness, best of 25
     * interleaved rounds, Zen 5, 2026-12-04).
     */
    static int dbetaOffset(int width) {
        return StaggeredRows.stride(width, Double.BYTES);
    }

    /**
     * {@link #affine} with an epilogue: {@code y = max(0, affine(x) + z)} (ResNet's residual block), where the
     * residual {@code z} is skipped when null and the max when {@code relu} is false. {@code y} may be {@code x}
     * or {@code z} at the same offset.
     */
    void affineFused(float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset, int n, int c, int s,
            int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu);

    /**
     * Per-channel sums for the backward pass: {@code sumDy[ch] = sum(dy)} and
     * {@code sumDyCentered[ch] = sum(dy * (x - center[ch]))}.
     */
    void gradientSums(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            float[] center, double[] sumDy, double[] sumDyCentered);

    /**
     * Input gradient {@code dx = dy * dyScale - (x - center) * centeredScale - shift}, per channel.
     * {@code dx} may be {@code dy} or {@code x} at the same offset.
     */
    void gradientInput(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset,
            int n, int c, int s, int c0, int c1,
            float[] center, double[] dyScale, double[] centeredScale, double[] shift);
}
