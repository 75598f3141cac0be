package dev.vecnorm.internal.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Optional capability of a {@link BatchNormKernels}: the element-wise passes and the backward sums read and write
 * {@link MemorySegment}s directly instead of through heap copies (the statistics are not here: their kernels stay
 * on arrays, fed with heap copies). Same element layout and arithmetic as the array
 * methods (so the same bits), with offsets and indices in floats as longs, for segments of more than 2^31
 * elements. Segments are float-aligned and in native byte order; the caller has checked bounds, access and
 * aliasing.
 */
public interface SegmentKernels {

    /** {@link BatchNormKernels#affine} on segments; {@code y} may be {@code x} at the same offset. */
    void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c, int s, int c0, int c1,
            float[] centerHi, float[] centerLo, float[] scale, float[] shift);

    /** {@link BatchNormKernels#gradientSums} on segments. */
    void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c, int s, int c0,
            int c1, float[] center, double[] sumDy, double[] sumDyCentered);

    /** {@link BatchNormKernels#gradientInput} on segments; {@code dx} may be {@code dy} or {@code x}. */
    void gradientInput(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx,
            long dxOffset, int n, int c, int s, int c0, int c1,
            float[] center, double[] dyScale, double[] centeredScale, double[] shift);
}
