package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.F;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static dev.vecnorm.internal.kernels.Lanes.L;
import static dev.vecnorm.internal.kernels.Lanes.widen;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link SegmentKernels}' loops: the element-wise passes and backward sums of the array kernels with segment loads
 * and stores and long byte offsets, element for element the same arithmetic (so the same bits). They are written
 * twice rather than running the arrays through MemorySegment.ofArray, because heap-segment access measured 5-10%
 * slower in the backward loops (JDK 25), and a shared loop behind an interface would not inline; staging every
 * segment through heap copies instead costs 1.2-2.3x (see {@link SegmentKernels}).
 */
final class SegmentRuns {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

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
        float[][] p = AffineRuns.positionCoefficients(c0, c1, s, centerHi, centerLo, scale, shift);
        float[] hiP = p[0];
        float[] aP = p[1];
        float[] bP = p[2];
        int limit = width - width % L;
        for (int i = 0; i < n; i++) {
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(yOffset, i, c, c0, s);
            for (int q = 0; q < limit; q += L) {
                long at = (long) q * Float.BYTES;
                FloatVector.fromMemorySegment(F, x, in + at, NATIVE)
                        .sub(FloatVector.fromArray(F, hiP, q))
                        .fma(FloatVector.fromArray(F, aP, q), FloatVector.fromArray(F, bP, q))
                        .intoMemorySegment(y, out + at, NATIVE);
            }
            for (int q = limit; q < width; q++) {
                long at = in + (long) q * Float.BYTES;
                y.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, out + (long) q * Float.BYTES,
                        Math.fma(x.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at) - hiP[q], aP[q], bP[q]));
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
                    DoubleVector t = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)).fma(b, e);
                    narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE)).fma(a, t))
                            .intoMemorySegment(dx, out + at, NATIVE);
                }
                if (j < s) {
                    VectorMask<Float> k = FH.indexInRange(j, s);
                    long at = (long) j * Float.BYTES;
                    DoubleVector t = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)).fma(b, e);
                    narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k)).fma(a, t))
                            .intoMemorySegment(dx, out + at, NATIVE, k);
                }
            }
        }
    }

    private static void gradientInputAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, MemorySegment dx, long dxOffset, int n, int c, int s, int c0, int c1, float[] center,
            double[] dyScale, double[] centeredScale, double[] shift) {
        int width = (c1 - c0) * s;
        double[] aP = PositionScratch.perPosition(dyScale, c0, c1, s, PositionScratch.Buffer.DY_SCALE);
        double[] bP = PositionScratch.xFactorPerPosition(centeredScale, c0, c1, s);
        double[] eP = PositionScratch.constantPerPosition(center, centeredScale, shift, c0, c1, s);
        int bound = FH.loopBound(width);
        for (int i = 0; i < n; i++) {
            long g = runAt(dyOffset, i, c, c0, s);
            long in = runAt(xOffset, i, c, c0, s);
            long out = runAt(dxOffset, i, c, c0, s);
            int q = 0;
            for (; q < bound; q += DL) {
                long at = (long) q * Float.BYTES;
                DoubleVector t = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE))
                        .fma(DoubleVector.fromArray(D, bP, q), DoubleVector.fromArray(D, eP, q));
                narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE))
                        .fma(DoubleVector.fromArray(D, aP, q), t))
                        .intoMemorySegment(dx, out + at, NATIVE);
            }
            if (q < width) {
                VectorMask<Float> k = FH.indexInRange(q, width);
                VectorMask<Double> kd = D.indexInRange(q, width);
                long at = (long) q * Float.BYTES;
                DoubleVector t = widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k))
                        .fma(DoubleVector.fromArray(D, bP, q, kd), DoubleVector.fromArray(D, eP, q, kd));
                narrow(widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k))
                        .fma(DoubleVector.fromArray(D, aP, q, kd), t))
                        .intoMemorySegment(dx, out + at, NATIVE, k);
            }
        }
    }

    static void gradientSums(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c, int s,
            int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        if (GradientRuns.applies(s)) {
            for (int ch = c0; ch < c1; ch++) {
                sumsOfChannel(dy, dyOffset, x, xOffset, n, c, s, ch, center[ch], sumDy, sumDyCentered);
            }
        } else {
            sumsAcrossPositions(dy, dyOffset, x, xOffset, n, c, s, c0, c1, center, sumDy, sumDyCentered);
        }
    }

    private static void sumsAcrossPositions(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n,
            int c, int s, int c0, int c1, float[] center, double[] sumDy, double[] sumDyCentered) {
        DoubleVector zero = DoubleVector.zero(D);
        int width = (c1 - c0) * s;
        double[] mP = PositionScratch.widenedPerPosition(center, c0, c1, s, PositionScratch.Buffer.CENTER);
        for (int ch = c0; ch < c1; ch++) {
            sumDy[ch] = 0;
            sumDyCentered[ch] = 0;
        }
        double[] laneDy = PositionScratch.doubles(PositionScratch.Buffer.LANE_SUMS_DY, 4 * DL);
        double[] laneDyXc = PositionScratch.doubles(PositionScratch.Buffer.LANE_SUMS_DY_CENTERED, 4 * DL);
        long half = (long) DL * Float.BYTES;
        int q = 0;
        for (int wide = width - width % (4 * DL); q < wide; q += 4 * DL) {
            DoubleVector m0 = DoubleVector.fromArray(D, mP, q);
            DoubleVector m1 = DoubleVector.fromArray(D, mP, q + DL);
            DoubleVector m2 = DoubleVector.fromArray(D, mP, q + 2 * DL);
            DoubleVector m3 = DoubleVector.fromArray(D, mP, q + 3 * DL);
            long at = (long) q * Float.BYTES;
            DoubleVector g0 = zero, g1 = zero, g2 = zero, g3 = zero, h0 = zero, h1 = zero, h2 = zero, h3 = zero;
            for (int i = 0; i < n; i++) {
                long g = runAt(dyOffset, i, c, c0, s) + at;
                long in = runAt(xOffset, i, c, c0, s) + at;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g, NATIVE));
                DoubleVector a1 = widen(FloatVector.fromMemorySegment(FH, dy, g + half, NATIVE));
                DoubleVector a2 = widen(FloatVector.fromMemorySegment(FH, dy, g + 2 * half, NATIVE));
                DoubleVector a3 = widen(FloatVector.fromMemorySegment(FH, dy, g + 3 * half, NATIVE));
                g0 = g0.add(a0);
                g1 = g1.add(a1);
                g2 = g2.add(a2);
                g3 = g3.add(a3);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in, NATIVE)).sub(m0), h0);
                h1 = a1.fma(widen(FloatVector.fromMemorySegment(FH, x, in + half, NATIVE)).sub(m1), h1);
                h2 = a2.fma(widen(FloatVector.fromMemorySegment(FH, x, in + 2 * half, NATIVE)).sub(m2), h2);
                h3 = a3.fma(widen(FloatVector.fromMemorySegment(FH, x, in + 3 * half, NATIVE)).sub(m3), h3);
            }
            storeLanes(g0, g1, g2, g3, laneDy);
            storeLanes(h0, h1, h2, h3, laneDyXc);
            addLanes(laneDy, laneDyXc, 4 * DL, c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
        for (; q < width; q += DL) {
            VectorMask<Float> k = FH.indexInRange(q, width);
            DoubleVector m = DoubleVector.fromArray(D, mP, q, D.indexInRange(q, width));
            long at = (long) q * Float.BYTES;
            DoubleVector g0 = zero, h0 = zero;
            for (int i = 0; i < n; i++) {
                DoubleVector a = widen(FloatVector.fromMemorySegment(FH, dy, runAt(dyOffset, i, c, c0, s) + at,
                        NATIVE, k));
                g0 = g0.add(a);
                h0 = a.fma(widen(FloatVector.fromMemorySegment(FH, x, runAt(xOffset, i, c, c0, s) + at, NATIVE, k))
                        .sub(m), h0);
            }
            g0.intoArray(laneDy, 0);
            h0.intoArray(laneDyXc, 0);
            addLanes(laneDy, laneDyXc, Math.min(DL, width - q), c0 + q / s, q % s, s, sumDy, sumDyCentered);
        }
    }

    private static void sumsOfChannel(MemorySegment dy, long dyOffset, MemorySegment x, long xOffset, int n, int c,
            int s, int ch, float center, double[] sumDy, double[] sumDyCentered) {
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector m = DoubleVector.broadcast(D, center);
        DoubleVector g0 = zero, g1 = zero, h0 = zero, h1 = zero;
        int pairs = s - s % (2 * DL);
        long half = (long) DL * Float.BYTES;
        for (int i = 0; i < n; i++) {
            long g = runAt(dyOffset, i, c, ch, s);
            long in = runAt(xOffset, i, c, ch, s);
            int j = 0;
            for (; j < pairs; j += 2 * DL) {
                long at = (long) j * Float.BYTES;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE));
                DoubleVector a1 = widen(FloatVector.fromMemorySegment(FH, dy, g + at + half, NATIVE));
                g0 = g0.add(a0);
                g1 = g1.add(a1);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE)).sub(m), h0);
                h1 = a1.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at + half, NATIVE)).sub(m), h1);
            }
            for (; j < s; j += DL) {
                VectorMask<Float> k = FH.indexInRange(j, s);
                long at = (long) j * Float.BYTES;
                DoubleVector a0 = widen(FloatVector.fromMemorySegment(FH, dy, g + at, NATIVE, k));
                g0 = g0.add(a0);
                h0 = a0.fma(widen(FloatVector.fromMemorySegment(FH, x, in + at, NATIVE, k)).sub(m), h0);
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

    private static void storeLanes(DoubleVector v0, DoubleVector v1, DoubleVector v2, DoubleVector v3,
            double[] lanes) {
        v0.intoArray(lanes, 0);
        v1.intoArray(lanes, DL);
        v2.intoArray(lanes, 2 * DL);
        v3.intoArray(lanes, 3 * DL);
    }

    /** Adds the first {@code active} lane sums to their channels; lane 0 is position {@code within} of {@code ch}. */
    private static void addLanes(double[] laneDy, double[] laneDyXc, int active, int ch, int within, int s,
            double[] sumDy, double[] sumDyCentered) {
        for (int t = 0; t < active; t++) {
            sumDy[ch] += laneDy[t];
            sumDyCentered[ch] += laneDyXc[t];
            if (++within == s) {
                within = 0;
                ch++;
            }
        }
    }

    private static FloatVector narrow(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FH, 0);
    }
}
