package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static jdk.incubator.vector.VectorOperators.D2F;
import static jdk.incubator.vector.VectorOperators.F2D;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

/**
 * LayerNorm's and RMSNorm's backward over rows ({@link BatchNormKernels#rowGradients}) in double lanes:
 * half-width float loads widened exactly, the row sums kept in lanes and added in lane order at the end of the
 * row (the same bits interpreted and compiled), the column sums of dgamma and dbeta updated a vector at a time.
 *
 * <p>Rows a page apart or more go four at a time over the column sums ({@link #fourRowGroups}; the same bits).
 * Measured before that and not kept: two rows per pass for every width (LayerNorm 2048x4096 faster, but 4096x768
 * and RMSNorm 2048x4096 no faster and RMSNorm 32x4096 10% slower, interleaved JMH); gamma widened to double once
 * per call (no change); two accumulators per row sum (no change); the column sums in a separate pass over each
 * block (PyTorch's layout; 4096x768 the same, 2048x4096 30% slower); the next row's sums in the loop that writes
 * this row's dx (4096x768 the same, 2048x4096 -19%, below the four-row form).
 *
 * <p>The row works with xhat = (x - mean) * invStd, rounded once: dgamma's term is one fma on it, and dx follows
 * from b = sum(g * xhat) with two fmas. Against the earlier form on (x - mean) (d * xc * inv, and inv^3 in dx)
 * that is two vector operations fewer per eight elements in the first loop and one in the second: 4096x768
 * 3.0-3.1 -> 2.55-2.6 ms in a scratch copy of both kernels, best of 30 interleaved rounds, 2026-12-04;
 * 2048x4096 the same within noise. Not (x * inv - mean * inv) in one fma: on a constant row of large values
 * the rounding of mean * inv makes xhat far from zero (x = mean = 1e30 gives about 3e16).
 */
final class RowGradients {

    private RowGradients() {
    }

    /**
     * Per thread: the row sums a (dy * gamma) and b (dy * gamma * xhat) of four rows, a at r and b at 4 + r, then
     * room for their eight lane vectors.
     */
    private static final ThreadLocal<double[]> SUMS = ThreadLocal.withInitial(() -> new double[8 + 8 * DL]);

    static void rows(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset, int rows,
            int width, float[] gamma, float[] mean, float[] invStd, int statsOffset, double[] columnSums, int dbetaAt) {
        double[] sums = SUMS.get();
        int first = 0;
        // Four rows per load and store of the column sums where they save the most: with dbeta's beside dgamma's
        // at every width, and from a page up with dgamma's alone. Fresh-JVM medians (Zen 5, 2026-12-04, rows from
        // the quarters): LayerNorm 4096x768 2.87 -> 2.41 ms; RMSNorm 4096x768 (dgamma only) 2.14 -> 2.52, so it
        // keeps one row at a time there; 2048x4096 within noise against adjacent rows.
        if (dbetaAt >= 0 || Pages.fourRowsApart(width)) {
            first = rows - rows % 4;
            fourRowGroups(dy, dyOffset, x, xOffset, dx, dxOffset, first, width, gamma, mean, invStd, statsOffset,
                    columnSums, dbetaAt, sums);
        }
        for (int k = first; k < rows; k++) {
            int row = k * width;
            double mu = mean == null ? 0.0 : mean[statsOffset + k];
            oneRowSums(dy, dyOffset + row, x, xOffset + row, width, gamma, mu, invStd[statsOffset + k], columnSums,
                    dbetaAt, sums);
            input(dy, dyOffset + row, x, xOffset + row, dx, dxOffset + row, width, gamma, mean, invStd,
                    statsOffset + k, sums[0], sums[4]);
        }
    }

    /**
     * One row's sums a (into sums[0]) and b (into sums[4]), and its terms of the column sums. Its own method, as
     * the dx loop ({@link #input}) is: when both loops sat in {@link #rows}, C2 compiled that 730-byte method from
     * whichever profile it saw first, and after RMSNorm's calls (compare --ops rmsnorm,layernorm) LayerNorm
     * 4096x768 backward ran at 9.6-9.8 ms in two of three fresh JVMs against 2.5 in the third.
     */
    private static void oneRowSums(float[] dy, int g0, float[] x, int in, int width, float[] gamma, double mu,
            double inv, double[] columnSums, int dbetaAt, double[] sums) {
        DoubleVector vMu = DoubleVector.broadcast(D, mu);
        DoubleVector vInv = DoubleVector.broadcast(D, inv);
        DoubleVector sumG = DoubleVector.zero(D);
        DoubleVector sumGxhat = DoubleVector.zero(D);
        int limit = width - width % DL;
        for (int j = 0; j < limit; j += DL) {
            DoubleVector d = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + j).convertShape(F2D, D, 0);
            DoubleVector xhat =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).sub(vMu).mul(vInv);
            DoubleVector g = gamma == null ? d : d.mul((DoubleVector) FloatVector.fromArray(FH, gamma, j)
                    .convertShape(F2D, D, 0));
            sumG = sumG.add(g);
            sumGxhat = g.fma(xhat, sumGxhat);
            d.fma(xhat, DoubleVector.fromArray(D, columnSums, j)).intoArray(columnSums, j);
            if (dbetaAt >= 0) {
                DoubleVector.fromArray(D, columnSums, dbetaAt + j).add(d).intoArray(columnSums, dbetaAt + j);
            }
        }
        sumG.intoArray(sums, 8);
        sumGxhat.intoArray(sums, 8 + DL);
        double a = 0;
        double b = 0;
        for (int t = 0; t < DL; t++) {
            a += sums[8 + t];
            b += sums[8 + DL + t];
        }
        sums[0] = a;
        sums[4] = b;
        rowSumsTail(dy, g0, x, in, width, limit, gamma, mu, inv, columnSums, dbetaAt, sums, 0);
    }

    /**
     * Rows [0, rows) (a multiple of four) four at a time, one from each quarter (rows k, k + rows/4, ...; quarters
     * never share a page, as in the statistics): gamma and the column sums are loaded and stored once per four
     * rows: LayerNorm and RMSNorm 2048x4096 backward -24 to -34%, RMSNorm 32x4096 -6 to -10% against one row at a
     * time (adjacent rows then; SameJvmAB, both orders, 2026-12-04).
     */
    private static void fourRowGroups(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset,
            int rows, int width, float[] gamma, float[] mean, float[] invStd, int statsOffset, double[] columnSums,
            int dbetaAt, double[] sums) {
        int quarter = rows / 4;
        int stride = quarter * width;
        for (int k = 0; k < quarter; k++) {
            int row = k * width;
            fourRowSums(dy, dyOffset + row, x, xOffset + row, width, gamma, mean, invStd, statsOffset + k, quarter,
                    columnSums, dbetaAt, sums);
            for (int r = 0; r < 4; r++) {
                input(dy, dyOffset + row + r * stride, x, xOffset + row + r * stride, dx, dxOffset + row + r * stride,
                        width, gamma, mean, invStd, statsOffset + k + r * quarter, sums[r], sums[4 + r]);
            }
        }
    }

    /**
     * The sums of four rows (rows k + r * step, step * width floats apart) in one pass: gamma and the column sums
     * are loaded and stored once for four rows, each row's contribution added in that order (the bits of four
     * passes of the one-row loop). Row r's sums go to sums[r] and sums[4 + r].
     */
    private static void fourRowSums(float[] dy, int g0, float[] x, int in, int width, float[] gamma, float[] mean,
            float[] invStd, int k, int step, double[] columnSums, int dbetaAt, double[] sums) {
        int stride = step * width;
        DoubleVector m0 = DoubleVector.broadcast(D, mean == null ? 0.0 : mean[k]);
        DoubleVector m1 = DoubleVector.broadcast(D, mean == null ? 0.0 : mean[k + step]);
        DoubleVector m2 = DoubleVector.broadcast(D, mean == null ? 0.0 : mean[k + 2 * step]);
        DoubleVector m3 = DoubleVector.broadcast(D, mean == null ? 0.0 : mean[k + 3 * step]);
        DoubleVector i0 = DoubleVector.broadcast(D, invStd[k]);
        DoubleVector i1 = DoubleVector.broadcast(D, invStd[k + step]);
        DoubleVector i2 = DoubleVector.broadcast(D, invStd[k + 2 * step]);
        DoubleVector i3 = DoubleVector.broadcast(D, invStd[k + 3 * step]);
        DoubleVector a0 = DoubleVector.zero(D);
        DoubleVector a1 = a0;
        DoubleVector a2 = a0;
        DoubleVector a3 = a0;
        DoubleVector b0 = a0;
        DoubleVector b1 = a0;
        DoubleVector b2 = a0;
        DoubleVector b3 = a0;
        int limit = width - width % DL;
        for (int j = 0; j < limit; j += DL) {
            DoubleVector d0 = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + j).convertShape(F2D, D, 0);
            DoubleVector d1 = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + stride + j).convertShape(F2D, D, 0);
            DoubleVector d2 = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + 2 * stride + j).convertShape(F2D, D, 0);
            DoubleVector d3 = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + 3 * stride + j).convertShape(F2D, D, 0);
            DoubleVector x0 =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).sub(m0).mul(i0);
            DoubleVector x1 = ((DoubleVector) FloatVector.fromArray(FH, x, in + stride + j).convertShape(F2D, D, 0))
                    .sub(m1).mul(i1);
            DoubleVector x2 = ((DoubleVector) FloatVector.fromArray(FH, x, in + 2 * stride + j)
                    .convertShape(F2D, D, 0)).sub(m2).mul(i2);
            DoubleVector x3 = ((DoubleVector) FloatVector.fromArray(FH, x, in + 3 * stride + j)
                    .convertShape(F2D, D, 0)).sub(m3).mul(i3);
            DoubleVector e0 = d0;
            DoubleVector e1 = d1;
            DoubleVector e2 = d2;
            DoubleVector e3 = d3;
            if (gamma != null) {
                DoubleVector gm = (DoubleVector) FloatVector.fromArray(FH, gamma, j).convertShape(F2D, D, 0);
                e0 = d0.mul(gm);
                e1 = d1.mul(gm);
                e2 = d2.mul(gm);
                e3 = d3.mul(gm);
            }
            a0 = a0.add(e0);
            a1 = a1.add(e1);
            a2 = a2.add(e2);
            a3 = a3.add(e3);
            b0 = e0.fma(x0, b0);
            b1 = e1.fma(x1, b1);
            b2 = e2.fma(x2, b2);
            b3 = e3.fma(x3, b3);
            d3.fma(x3, d2.fma(x2, d1.fma(x1, d0.fma(x0, DoubleVector.fromArray(D, columnSums, j)))))
                    .intoArray(columnSums, j);
            if (dbetaAt >= 0) {
                DoubleVector.fromArray(D, columnSums, dbetaAt + j).add(d0).add(d1).add(d2).add(d3)
                        .intoArray(columnSums, dbetaAt + j);
            }
        }
        // Through the array, not a helper taking vectors: a call C2 does not inline boxes every vector passed to
        // it (measured: 768 B per four rows when this method had outgrown the inlining budget).
        a0.intoArray(sums, 8);
        a1.intoArray(sums, 8 + DL);
        a2.intoArray(sums, 8 + 2 * DL);
        a3.intoArray(sums, 8 + 3 * DL);
        b0.intoArray(sums, 8 + 4 * DL);
        b1.intoArray(sums, 8 + 5 * DL);
        b2.intoArray(sums, 8 + 6 * DL);
        b3.intoArray(sums, 8 + 7 * DL);
        for (int r = 0; r < 8; r++) {
            double sum = 0;
            for (int t = 0; t < DL; t++) {
                sum += sums[8 + r * DL + t];
            }
            sums[r] = sum;
        }
        for (int r = 0; r < 4; r++) {
            rowSumsTail(dy, g0 + r * stride, x, in + r * stride, width, limit, gamma,
                    mean == null ? 0.0 : mean[k + r * step], invStd[k + r * step], columnSums, dbetaAt, sums, r);
        }
    }

    /** Columns [limit, width) of a row (under one vector) in scalar doubles, added to sums[r] and sums[4 + r]. */
    private static void rowSumsTail(float[] dy, int g0, float[] x, int in, int width, int limit, float[] gamma,
            double mu, double inv, double[] columnSums, int dbetaAt, double[] sums, int r) {
        double a = sums[r];
        double b = sums[4 + r];
        for (int j = limit; j < width; j++) {
            double d = dy[g0 + j];
            double xhat = (x[in + j] - mu) * inv;
            double g = d * (gamma == null ? 1.0 : gamma[j]);
            a += g;
            b = Math.fma(g, xhat, b);
            columnSums[j] = Math.fma(d, xhat, columnSums[j]);
            if (dbetaAt >= 0) {
                columnSums[dbetaAt + j] += d;
            }
        }
        sums[r] = a;
        sums[4 + r] = b;
    }

    /**
     * One row's dx = inv * (g - xhat * b / width - a / width), as inv * g + (xhat * perXhat + constant); nothing
     * if dx is null.
     */
    private static void input(float[] dy, int g0, float[] x, int in, float[] dx, int out, int width, float[] gamma,
            float[] mean, float[] invStd, int k, double a, double b) {
        if (dx == null) {
            return;
        }
        double mu = mean == null ? 0.0 : mean[k];
        double inv = invStd[k];
        double perXhat = -inv * b / width;
        double constant = mean == null ? 0.0 : -inv * a / width;
        DoubleVector vMu = DoubleVector.broadcast(D, mu);
        DoubleVector vInv = DoubleVector.broadcast(D, inv);
        DoubleVector vPerXhat = DoubleVector.broadcast(D, perXhat);
        DoubleVector vConstant = DoubleVector.broadcast(D, constant);
        int limit = width - width % DL;
        for (int j = 0; j < limit; j += DL) {
            DoubleVector d = (DoubleVector) FloatVector.fromArray(FH, dy, g0 + j).convertShape(F2D, D, 0);
            DoubleVector g = gamma == null ? d : d.mul((DoubleVector) FloatVector.fromArray(FH, gamma, j)
                    .convertShape(F2D, D, 0));
            DoubleVector xhat =
                    ((DoubleVector) FloatVector.fromArray(FH, x, in + j).convertShape(F2D, D, 0)).sub(vMu).mul(vInv);
            ((FloatVector) g.fma(vInv, xhat.fma(vPerXhat, vConstant)).convertShape(D2F, FH, 0)).intoArray(dx, out + j);
        }
        for (int j = limit; j < width; j++) {
            double g = dy[g0 + j] * (gamma == null ? 1.0 : gamma[j]);
            double xhat = (x[in + j] - mu) * inv;
            dx[out + j] = (float) Math.fma(g, inv, Math.fma(xhat, perXhat, constant));
        }
    }

}
