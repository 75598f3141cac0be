package dev.vecnorm.internal.kernels;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernels. Loaded by name from {@link Kernels} only when {@code jdk.incubator.vector} is
 * readable; nothing else in the library refers to this class.
 *
 * <p>Statistics are {@link ShiftedSums} (shifted sums in double lanes, one pass). The other passes have two
 * loop strategies, chosen by the run length s:
 * <ul>
 *   <li><b>along runs</b> (s &ge; one vector): a channel is n contiguous runs of s floats; the passes live in
 *       {@link AffineRuns} (normalize) and {@link GradientRuns} (backward), each walking a block of channels
 *       in memory order;</li>
 *   <li><b>across positions</b> (s shorter than a vector, and s = 1 for rank 2 where channels are the contiguous
 *       axis): a row of c*s floats is contiguous for each batch index; vector lanes hold positions (channel,
 *       spatial) with per-position coefficients, and the loop over the batch index streams the rows.</li>
 * </ul>
 *
 * <p>The MemorySegment overloads are {@link SegmentRuns}: the element-wise and backward loops with segment access
 * and the same arithmetic (bit for bit the array results); statistics of segments are staged through arrays by the
 * caller. This class only dispatches: each pass lives in its own file, the species in {@link Lanes}.
 */
final class PanamaBatchNormKernels implements BatchNormKernels, SegmentKernels {

    /** Test-only system property: force a vector bit size (128, 256, 512) instead of the preferred one. */
    static final String BIT_SIZE_PROPERTY = Lanes.BIT_SIZE_PROPERTY;

    private static final VectorSpecies<Float> F = Lanes.F;
    private static final int L = Lanes.L;

    private PanamaBatchNormKernels() {
    }

    /** Factory called reflectively by {@link Kernels}; refuses species too narrow to pay off. */
    static PanamaBatchNormKernels create() {
        if (L < 4) {
            throw new UnsupportedOperationException("the float vector species " + F + " has " + L
                    + " lanes; the Vector API kernels need at least 4");
        }
        return new PanamaBatchNormKernels();
    }

    @Override
    public String name() {
        return "vector-" + F.vectorBitSize();
    }

    // ------------------------------------------------------------------------------------------------------
    // statistics

    @Override
    public void moments(float[] x, int xOffset, int n, int c, int s, int c0, int c1,
            double[] mean, double[] variance) {
        ShiftedSums.moments(x, xOffset, n, c, s, c0, c1, mean, variance);
    }

    // ------------------------------------------------------------------------------------------------------
    // element-wise passes

    @Override
    public void affine(float[] x, int xOffset, float[] y, int yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        if (AffineRuns.applies(s)) {
            AffineRuns.affine(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        } else {
            AffineRuns.acrossPositions(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        }
    }

    @Override
    public void rowGradients(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset, int rows,
            int width, float[] gamma, float[] mean, float[] invStd, int statsOffset, double[] columnSums,
            int dbetaAt) {
        RowGradients.rows(dy, dyOffset, x, xOffset, dx, dxOffset, rows, width, gamma, mean, invStd, statsOffset,
                columnSums, dbetaAt);
    }

    @Override
    public void normalizeRows(float[] x, int xOffset, float[] y, int yOffset, int rows, int width, float[] centerHi,
            float[] centerLo, float[] scale, float[] gamma, float[] beta) {
        RowAffine.normalize(x, xOffset, y, yOffset, rows, width, centerHi, centerLo, scale, gamma, beta);
    }

    @Override
    public void affineFused(float[] x, int xOffset, float[] z, int zOffset, float[] y, int yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift, boolean relu) {
        AffineRuns.affineFused(x, xOffset, z, zOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift,
                relu);
    }

    @Override
    public void gradientInput(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset,
            int n, int c, int s, int c0, int c1,
            float[] center, double[] dyScale, double[] centeredScale, double[] shift) {
        if (GradientRuns.applies(s)) {
            GradientRuns.input(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
            return;
        }
        // dx is a difference of terms much larger than itself when dy is nearly explained by the mean and xhat:
        // computing it in double keeps the float32 result within a few ulps of the exact value.
        GradientRuns.inputAcrossPositions(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                centeredScale, shift);
    }

    // ------------------------------------------------------------------------------------------------------
    // backward sums

    @Override
    public void gradientSums(float[] dy, int dyOffset, float[] x, int xOffset, int n, int c, int s, int c0,
            int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        if (ShortRuns.alongRuns(n, s)) {
            GradientRuns.sums(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
            return;
        }
        GradientRuns.sumsAcrossPositions(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy,
                sumDyCentered);
    }

    // ------------------------------------------------------------------------------------------------------
    // element-wise passes and backward sums on segments (SegmentRuns)

    @Override
    public void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        SegmentRuns.affine(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
    }

    @Override
    public void gradientInput(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx,
            long dxOffset, int n, int c, int s, int c0, int c1, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        SegmentRuns.gradientInput(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                centeredScale, shift);
    }

    @Override
    public void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        SegmentRuns.gradientSums(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
    }


}
