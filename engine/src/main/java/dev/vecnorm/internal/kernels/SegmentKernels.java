package dev.vecnorm.internal.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Optional capability of a {@link BatchNormKernels}: the element-wise passes and the backward sums read and write
 * {@link MemorySegment}s directly instead of through heap copies (the statistics are not here: their kernels stay
 * on arrays, fed with heap copies). Same element layout and arithmetic as the array
 * methods (so the same bits), with offsets and indices in floats as longs, for segments of more than 2^31
 * elements. Segments are float-aligned and in native byte order; the caller has checked bounds, access and
 * aliasing.
 *
 * <p>Why a second form of these loops rather than staging every segment through heap copies (the path a
 * misaligned segment takes): the copies cost 1.2-2.3x (SegmentBenchmark, 1 thread, Zen 5, 2026-12-04:
 * inference on 32x256x56x56 5.6 ms direct vs 10.9 ms copied, 256x1024 0.026 vs 0.061 ms; backward 13.5 vs 17.5 ms;
 * training 8.5 vs 10.1 ms), while the direct loops run as fast as the array path (inference 5.6 ms on arrays).
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
