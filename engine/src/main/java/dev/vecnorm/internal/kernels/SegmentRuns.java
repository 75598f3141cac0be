package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.F;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static dev.vecnorm.internal.kernels.Lanes.L;
import static jdk.incubator.vector.VectorOperators.D2F;
import static jdk.incubator.vector.VectorOperators.F2D;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * {@link SegmentKernels}' loops: the element-wise passes and backward sums of the array kernels with segment loads
 * and stores and long byte offsets, element for element the same arithmetic (so the same bits). They are written
 * twice rather than running the arrays through MemorySegment.ofArray, because heap-segment access measured 5-10%
 * slower in the backward loops (JDK 25), and a shared loop behind an interface would not inline; staging every
 * segment through heap copies instead costs 1.2-2.3x (see {@link SegmentKernels}).
 */
final class SegmentRuns {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private SegmentRuns() {
    }

    /** Byte offset of element (i, ch, 0) of a tensor at float offset {@code offset}. */
    private static long runAt(long offset, int i, int c, int ch, int s) {
        return (offset + ((long) i * c + ch) * s) * Float.BYTES;
    }

    static void affine(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c, int s, int c0,
            int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        if (AffineRuns.applies(s)) {
            affineAlongRuns(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        } else {
            affineAcrossPositions(x, xOffset, y, yOffset, n, c, s, c0, c1, centerHi, centerLo, scale, shift);
        }
    }

    private static void affineAlongRuns(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n, int c,
            int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int bound = F.loopBound(s);
        for (int i = 0; i < n; i++) {
            for (int ch = c0; ch < c1; ch++) {
                // AffineRuns' arithmetic, for the same bits as the array path.
                FloatVector hi = FloatVector.broadcast(F, centerHi[ch]);
                FloatVector a = FloatVector.broadcast(F, scale[ch]);
                FloatVector b = FloatVector.broadcast(F, (float) (shift[ch] - (double) centerLo[ch] * scale[ch]));
                long in = runAt(xOffset, i, c, ch, s);
                long out = runAt(yOffset, i, c, ch, s);
                int j = 0;
                for (; j < bound; j += L) {
                    long at = (long) j * Float.BYTES;
                    FloatVector.fromMemorySegment(F, x, in + at, NATIVE).sub(hi).fma(a, b)
                            .intoMemorySegment(y, out + at, NATIVE);
                }
                if (j < s) {
                    VectorMask<Float> m = F.indexInRange(j, s);
                    long at = (long) j * Float.BYTES;
                    FloatVector.fromMemorySegment(F, x, in + at, NATIVE, m).sub(hi).fma(a, b)
                            .intoMemorySegment(y, out + at, NATIVE, m);
                }
            }
        }
    }

    private static void affineAcrossPositions(MemorySegment x, long xOffset, MemorySegment y, long yOffset, int n,
            int c, int s, int c0, int c1, float[] centerHi, float[] centerLo, float[] scale, float[] shift) {
        int width = (c1 - c0) * s;
        // AffineRuns.acrossPositions with segment access: the same coefficients and operations, the same bits.
        int coefStride = AffineRuns.coefficientStride(width);
        float[] cf = AffineRuns.positionCoefficients(c0, c1, s, centerHi, centerLo, scale, shift);
        int limit = width - width % L;
        int quarter = n / 4;
        long stride = (long) quarter * c * s * Float.BYTES;
        for (int i = 0; i < quarter; i++) {
            affineFourRows(x, runAt(xOffset, i, c, c0, s), y, runAt(yOffset, i, c, c0, s), stride, width, cf,
                    coefStride);
        }
        for (int i = 4 * quarter; i < n; i++) {
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(yOffset, i, c, c0, s);
            for (int q = 0; q < limit; q += L) {
                long at = (long) q * Float.BYTES;
                FloatVector.fromMemorySegment(F, x, in + at, NATIVE)
                        .sub(FloatVector.fromArray(F, cf, q))
                        .fma(FloatVector.fromArray(F, cf, coefStride + q),
                            FloatVector.fromArray(F, cf, 2 * coefStride + q))
                        .intoMemorySegment(y, out + at, NATIVE);
            }
            for (int q = limit; q < width; q++) {
                long at = in + (long) q * Float.BYTES;
                y.set(FLOAT, out + (long) q * Float.BYTES, Math.fma(x.get(FLOAT, at) - cf[q],
                        cf[coefStride + q], cf[2 * coefStride + q]));
            }
        }
    }

    /** AffineRuns.fourRows with segment access (rows {@code stride} bytes apart, x loaded first): the same bits. */
    private static void affineFourRows(MemorySegment x, long in, MemorySegment y, long out, long stride, int width,
            float[] cf, int coefStride) {
        int limit = width - width % L;
        for (int q = 0; q < limit; q += L) {
            long at = (long) q * Float.BYTES;
            FloatVector x0 = FloatVector.fromMemorySegment(F, x, in + at, NATIVE);
            FloatVector x1 = FloatVector.fromMemorySegment(F, x, in + stride + at, NATIVE);
            FloatVector x2 = FloatVector.fromMemorySegment(F, x, in + 2 * stride + at, NATIVE);
            FloatVector x3 = FloatVector.fromMemorySegment(F, x, in + 3 * stride + at, NATIVE);
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, coefStride + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * coefStride + q);
            x0.sub(vc).fma(va, vb).intoMemorySegment(y, out + at, NATIVE);
            x1.sub(vc).fma(va, vb).intoMemorySegment(y, out + stride + at, NATIVE);
            x2.sub(vc).fma(va, vb).intoMemorySegment(y, out + 2 * stride + at, NATIVE);
            x3.sub(vc).fma(va, vb).intoMemorySegment(y, out + 3 * stride + at, NATIVE);
        }
        for (int r = 0; r < 4; r++) {
            for (int q = limit; q < width; q++) {
                long at = r * stride + (long) q * Float.BYTES;
                y.set(FLOAT, out + at,
                        Math.fma(x.get(FLOAT, in + at) - cf[q], cf[coefStride + q], cf[2 * coefStride + q]));
            }
        }
    }

    static void gradientInput(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, MemorySegment dx,
            long dxOffset, int n, int c, int s, int c0, int c1, float[] center, double[] dyScale,
            double[] centeredScale, double[] shift) {
        if (GradientRuns.applies(s)) {
            gradientInputAlongRuns(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
        } else {
            gradientInputAcrossPositions(dy, dyOffset, x, xOffset, dx, dxOffset, n, c, s, c0, c1, center, dyScale,
                    centeredScale, shift);
        }
    }

    private static void gradientInputAlongRuns(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            MemorySegment dx, long dxOffset, int n, int c, int s, int c0, int c1, float[] center,
            double[] dyScale, double[] centeredScale, double[] shift) {
        int bound = FH.loopBound(s);
        for (int ch = c0; ch < c1; ch++) {
            DoubleVector a = DoubleVector.broadcast(D, dyScale[ch]);
            DoubleVector b = DoubleVector.broadcast(D, -centeredScale[ch]);
            DoubleVector e = DoubleVector.broadcast(D, GradientRuns.constant(center[ch], centeredScale[ch], shift[ch]));
            for (int i = 0; i < n; i++) {
                long g = runAt(dyOffset, i, c, ch, s);
                long in = runAt(xOffset, i, c, ch, s);
                long out = runAt(dxOffset, i, c, ch, s);
                int j = 0;
                for (; j < bound; j += DL) {
                    long at = (long) j * Float.BYTES;
                    DoubleVector t = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)
                            .convertShape(F2D, D, 0)).fma(b, e);
                    ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE)
                            .convertShape(F2D, D, 0)).fma(a, t).convertShape(D2F, FH, 0))
                            .intoMemorySegment(dx, out + at, NATIVE);
                }
                if (j < s) {
                    VectorMask<Float> k = FH.indexInRange(j, s);
                    long at = (long) j * Float.BYTES;
                    DoubleVector t = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)
                            .convertShape(F2D, D, 0)).fma(b, e);
                    ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k)
                            .convertShape(F2D, D, 0)).fma(a, t).convertShape(D2F, FH, 0))
                            .intoMemorySegment(dx, out + at, NATIVE, k);
                }
            }
        }
    }

    private static void gradientInputAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, MemorySegment dx, long dxOffset, int n, int c, int s, int c0, int c1, float[] center,
            double[] dyScale, double[] centeredScale, double[] shift) {
        int width = (c1 - c0) * s;
        int coefStride = PositionScratch.dxStride(width);
        double[] cf = PositionScratch.dxCoefficients(center, dyScale, centeredScale, shift, c0, c1, s);
        int bound = FH.loopBound(width);
        int i = 0;
        if (width >= GradientRuns.TWO_ROW_WIDTH) {
            long stride = (long) c * s * Float.BYTES;
            for (; i + 2 <= n; i += 2) {
                gradientInputTwoRows(dy, runAt(dyOffset, i, c, c0, s), x, runAt(xOffset, i, c, c0, s), dx,
                        runAt(dxOffset, i, c, c0, s), stride, width, cf, coefStride);
            }
        }
        for (; i < n; i++) {
            long g = runAt(dyOffset, i, c, c0, s);
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(dxOffset, i, c, c0, s);
            int q = 0;
            for (; q < bound; q += DL) {
                long at = (long) q * Float.BYTES;
                DoubleVector t =
                        ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE).convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, coefStride + q),
                                DoubleVector.fromArray(D, cf, 2 * coefStride + q));
                ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE)
                        .convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, q), t).convertShape(D2F, FH, 0))
                        .intoMemorySegment(dx, out + at, NATIVE);
            }
            if (q < width) {
                VectorMask<Float> k = FH.indexInRange(q, width);
                VectorMask<Double> kd = D.indexInRange(q, width);
                long at = (long) q * Float.BYTES;
                DoubleVector t = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)
                        .convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, coefStride + q, kd),
                                DoubleVector.fromArray(D, cf, 2 * coefStride + q, kd));
                ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k)
                        .convertShape(F2D, D, 0))
                        .fma(DoubleVector.fromArray(D, cf, q, kd), t).convertShape(D2F, FH, 0))
                        .intoMemorySegment(dx, out + at, NATIVE, k);
            }
        }
    }

    /** GradientRuns.twoRows with segment access (rows {@code stride} bytes apart): the same bits. */
    private static void gradientInputTwoRows(MemorySegment dy, long g, MemorySegment x, long in, MemorySegment dx,
            long out, long stride, int width, double[] cf, int coefStride) {
        int bound = FH.loopBound(width);
        int q = 0;
        for (; q < bound; q += DL) {
            DoubleVector a = DoubleVector.fromArray(D, cf, q);
            DoubleVector b = DoubleVector.fromArray(D, cf, coefStride + q);
            DoubleVector e = DoubleVector.fromArray(D, cf, 2 * coefStride + q);
            long at = (long) q * Float.BYTES;
            for (int r = 0; r < 2; r++) {
                long row = r * stride + at;
                DoubleVector t = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + row, NATIVE)
                        .convertShape(F2D, D, 0)).fma(b, e);
                ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + row, NATIVE)
                        .convertShape(F2D, D, 0)).fma(a, t).convertShape(D2F, FH, 0))
                        .intoMemorySegment(dx, out + row, NATIVE);
            }
        }
        if (q < width) {
            VectorMask<Float> k = FH.indexInRange(q, width);
            VectorMask<Double> kd = D.indexInRange(q, width);
            DoubleVector a = DoubleVector.fromArray(D, cf, q, kd);
            DoubleVector b = DoubleVector.fromArray(D, cf, coefStride + q, kd);
            DoubleVector e = DoubleVector.fromArray(D, cf, 2 * coefStride + q, kd);
            long at = (long) q * Float.BYTES;
            for (int r = 0; r < 2; r++) {
                long row = r * stride + at;
                DoubleVector t = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + row, NATIVE, k)
                        .convertShape(F2D, D, 0)).fma(b, e);
                ((FloatVector) ((DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + row, NATIVE, k)
                        .convertShape(F2D, D, 0)).fma(a, t).convertShape(D2F, FH, 0))
                        .intoMemorySegment(dx, out + row, NATIVE, k);
            }
        }
    }

    static void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        // The array kernels' choice and loops, so that both give the same bits.
        if (ShortRuns.alongRuns(n, s)) {
            for (int ch = c0; ch < c1; ch++) {
                sumsOfChannel(dy, dyOffset, x, xOffset, n, c, s, ch, center[ch], sumDy, sumDyCentered);
            }
        } else {
            sumsAcrossPositions(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
        }
    }

    /**
     * {@link GradientRuns#sumsAcrossPositions} with segment loads, block for block and row for row (the same bits):
     * rows stream while every position of a block keeps its two sums in a double array. (Before, columns of lanes
     * walked down the rows: strided reads, and at 128 and 256 bits C2 kept their twelve vectors boxed, megabytes
     * allocated per call.)
     */
    private static void sumsAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n,
            int c, int s, int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        int perBlock = ShortRuns.channelsPerBlock(s);
        for (int b0 = c0; b0 < c1; b0 += perBlock) {
            int b1 = Math.min(c1, b0 + perBlock);
            int width = (b1 - b0) * s;
            int stride = GradientRuns.workStride(width);
            double[] work = GradientRuns.blockWork(center, b0, b1, s);
            long row = (long) c * s * Float.BYTES;
            if (Pages.fourRowsApart(c * s)) {
                int i = 0;
                for (; i + 4 <= n; i += 4) {
                    addFourRows(dy, runAt(dyOffset, i, c, b0, s), x, runAt(xOffset, i, c, b0, s), row, width,
                            stride, work);
                }
                for (; i < n; i++) {
                    addRow(dy, runAt(dyOffset, i, c, b0, s), x, runAt(xOffset, i, c, b0, s), width, stride, work);
                }
            } else {
                // The array kernel's halves order (its register rows add in that order too).
                int half = GradientRuns.halfRows(n);
                for (int k = 0; k < n - half; k++) {
                    addTwoRows(dy, runAt(dyOffset, k, c, b0, s), x, runAt(xOffset, k, c, b0, s), half * row, width,
                            stride, work);
                }
                if (n % 2 != 0) {
                    addRow(dy, runAt(dyOffset, half - 1, c, b0, s), x, runAt(xOffset, half - 1, c, b0, s), width,
                            stride, work);
                }
            }
            GradientRuns.storeBlockSums(work, b0, b1, s, sumDy, sumDyCentered);
        }
    }

    /** GradientRuns' four-row step with segment loads; {@code g}, {@code in} and {@code row} are byte offsets. */
    private static void addFourRows(MemorySegment dy, long g, MemorySegment x, long in, long row, int width,
            int stride, double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            long at = (long) q * Float.BYTES;
            DoubleVector m = DoubleVector.fromArray(D, work, q);
            DoubleVector d0 =
                    (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE).convertShape(F2D, D, 0);
            DoubleVector d1 =
                    (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + row + at, NATIVE).convertShape(F2D, D, 0);
            DoubleVector d2 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + 2 * row + at, NATIVE)
                    .convertShape(F2D, D, 0);
            DoubleVector d3 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + 3 * row + at, NATIVE)
                    .convertShape(F2D, D, 0);
            DoubleVector xc0 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc1 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + row + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc2 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + 2 * row + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc3 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + 3 * row + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector.fromArray(D, work, stride + q).add(d0).add(d1).add(d2).add(d3)
                    .intoArray(work, stride + q);
            d3.fma(xc3, d2.fma(xc2, d1.fma(xc1, d0.fma(xc0, DoubleVector.fromArray(D, work, 2 * stride + q)))))
                    .intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 4, row, limit, width, stride, work);
    }

    /** GradientRuns' two-row step with segment loads; {@code g}, {@code in} and {@code apart} are byte offsets. */
    private static void addTwoRows(MemorySegment dy, long g, MemorySegment x, long in, long apart, int width,
            int stride, double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            long at = (long) q * Float.BYTES;
            DoubleVector m = DoubleVector.fromArray(D, work, q);
            DoubleVector d0 =
                    (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + apart + at, NATIVE)
                    .convertShape(F2D, D, 0);
            DoubleVector xc0 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector xc1 = ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + apart + at, NATIVE)
                    .convertShape(F2D, D, 0)).sub(m);
            DoubleVector.fromArray(D, work, stride + q).add(d0).add(d1).intoArray(work, stride + q);
            d1.fma(xc1, d0.fma(xc0, DoubleVector.fromArray(D, work, 2 * stride + q))).intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 2, apart, limit, width, stride, work);
    }

    /** GradientRuns' one-row step with segment loads; {@code g} and {@code in} are byte offsets. */
    private static void addRow(MemorySegment dy, long g, MemorySegment x, long in, int width, int stride,
            double[] work) {
        int limit = width - width % DL;
        for (int q = 0; q < limit; q += DL) {
            long at = (long) q * Float.BYTES;
            DoubleVector d =
                    (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE).convertShape(F2D, D, 0);
            DoubleVector xc =
                    ((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE).convertShape(F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, work, q));
            DoubleVector.fromArray(D, work, stride + q).add(d).intoArray(work, stride + q);
            d.fma(xc, DoubleVector.fromArray(D, work, 2 * stride + q)).intoArray(work, 2 * stride + q);
        }
        addTails(dy, g, x, in, 1, 0, limit, width, stride, work);
    }

    /**
     * Positions [limit, width) of {@code rows} rows {@code apart} bytes apart, row after row, in scalar doubles
     * (the same operations as a vector lane).
     */
    private static void addTails(MemorySegment dy, long g, MemorySegment x, long in, int rows, long apart,
            int limit, int width, int stride, double[] work) {
        for (int r = 0; r < rows; r++) {
            for (int q = limit; q < width; q++) {
                long at = r * apart + (long) q * Float.BYTES;
                double d = dy.get(FLOAT, g + at);
                work[stride + q] += d;
                work[2 * stride + q] = Math.fma(d, x.get(FLOAT, in + at) - work[q], work[2 * stride + q]);
            }
        }
    }

    private static void sumsOfChannel(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c,
            int s, int ch, float center, double[] sumDy, double[] sumDyCentered) {
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector m = DoubleVector.broadcast(D, center);
        DoubleVector g0 = zero, g1 = zero, h0 = zero, h1 = zero;
        int pairs = s - s % (2 * DL);
        long half = (long) DL * Float.BYTES;
        // The array kernel's order: samples i and i + halfRows(n) together, the first's vectors then the second's
        // at each step; with n odd, sample halfRows(n) - 1 alone last.
        int halfRows = GradientRuns.halfRows(n);
        for (int i = 0; i < halfRows; i++) {
            boolean two = i < n - halfRows;
            long g = runAt(dyOffset, i, c, ch, s);
            long in = runAt(xOffset, i, c, ch, s);
            long g2 = runAt(dyOffset, i + halfRows, c, ch, s);
            long in2 = runAt(xOffset, i + halfRows, c, ch, s);
            int j = 0;
            for (; j < pairs; j += 2 * DL) {
                long at = (long) j * Float.BYTES;
                DoubleVector a0 =
                        (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE).convertShape(F2D, D, 0);
                DoubleVector a1 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at + half, NATIVE)
                        .convertShape(F2D, D, 0);
                g0 = g0.add(a0);
                g1 = g1.add(a1);
                h0 = a0.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)
                        .convertShape(F2D, D, 0)).sub(m), h0);
                h1 = a1.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at + half, NATIVE)
                        .convertShape(F2D, D, 0)).sub(m), h1);
                if (two) {
                    DoubleVector b0 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g2 + at, NATIVE)
                            .convertShape(F2D, D, 0);
                    DoubleVector b1 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g2 + at + half, NATIVE)
                            .convertShape(F2D, D, 0);
                    g0 = g0.add(b0);
                    g1 = g1.add(b1);
                    h0 = b0.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in2 + at, NATIVE)
                            .convertShape(F2D, D, 0)).sub(m), h0);
                    h1 = b1.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in2 + at + half, NATIVE)
                            .convertShape(F2D, D, 0)).sub(m), h1);
                }
            }
            for (; j < s; j += DL) {
                VectorMask<Float> k = FH.indexInRange(j, s);
                long at = (long) j * Float.BYTES;
                DoubleVector a0 =
                        (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k).convertShape(F2D, D, 0);
                g0 = g0.add(a0);
                h0 = a0.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)
                        .convertShape(F2D, D, 0)).sub(m), h0);
                if (two) {
                    DoubleVector b0 = (DoubleVector) FloatVector.fromMemorySegment(FH, dy, g2 + at, NATIVE, k)
                            .convertShape(F2D, D, 0);
                    g0 = g0.add(b0);
                    h0 = b0.fma(((DoubleVector) FloatVector.fromMemorySegment(FH, x, in2 + at, NATIVE, k)
                            .convertShape(F2D, D, 0)).sub(m), h0);
                }
            }
        }
        double[] lanes = PositionScratch.doubles(PositionScratch.Buffer.LANE_SUMS, 4 * DL);
        g0.intoArray(lanes, 0);
        g1.intoArray(lanes, DL);
        h0.intoArray(lanes, 2 * DL);
        h1.intoArray(lanes, 3 * DL);
        sumDy[ch] = Lanes.sumInOrder(lanes, 0);
        sumDyCentered[ch] = Lanes.sumInOrder(lanes, 2 * DL);
    }

}
