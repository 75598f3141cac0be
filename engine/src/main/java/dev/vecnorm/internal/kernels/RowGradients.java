package dev.vecnorm.internal.kernels;

import static dev.vecnorm.internal.kernels.Lanes.D;
import static dev.vecnorm.internal.kernels.Lanes.DL;
import static dev.vecnorm.internal.kernels.Lanes.FH;
import static dev.vecnorm.internal.kernels.Lanes.widen;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * LayerNorm's and RMSNorm's backward over rows ({@link BatchNormKernels#rowGradients}) in double lanes:
 * half-width float loads widened exactly, the row sums kept in lanes and added in lane order at the end of the
 * row (the same bits interpreted and compiled), the column sums of dgamma and dbeta updated a vector at a time.
 *
 * <p>Tried on 2026-12-04 and not kept: two rows per pass over the column sums (dgamma/dbeta loaded and stored
 * once for both rows, same bits): LayerNorm 2048x4096 backward 6.5-7.5 -> 5.4-5.6 ms, but 4096x768 and RMSNorm
 * 2048x4096 no faster and RMSNorm 32x4096 10% slower (interleaved JMH, 2 rounds); and gamma widened to double
 * once per call (no measurable change).
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

    static void rows(float[] dy, int dyOffset, float[] x, int xOffset, float[] dx, int dxOffset, int rows,
            int width, float[] gamma, float[] mean, float[] invStd, int statsOffset, double[] dgamma, double[] dbeta) {
        int limit = width - width % DL;
        for (int k = 0; k < rows; k++) {
            double mu = mean == null ? 0.0 : mean[statsOffset + k];
            double inv = invStd[statsOffset + k];
            int row = k * width;
            DoubleVector vMu = DoubleVector.broadcast(D, mu);
            DoubleVector vInv = DoubleVector.broadcast(D, inv);
            DoubleVector sumG = DoubleVector.zero(D);
            DoubleVector sumGxhat = DoubleVector.zero(D);
            for (int j = 0; j < limit; j += DL) {
                DoubleVector d = widen(FloatVector.fromArray(FH, dy, dyOffset + row + j));
                DoubleVector xhat = widen(FloatVector.fromArray(FH, x, xOffset + row + j)).sub(vMu).mul(vInv);
                DoubleVector g = gamma == null ? d : d.mul(widen(FloatVector.fromArray(FH, gamma, j)));
                sumG = sumG.add(g);
                sumGxhat = g.fma(xhat, sumGxhat);
                d.fma(xhat, DoubleVector.fromArray(D, dgamma, j)).intoArray(dgamma, j);
                if (dbeta != null) {
                    DoubleVector.fromArray(D, dbeta, j).add(d).intoArray(dbeta, j);
                }
            }
            double a = 0;
            double b = 0;
            for (int t = 0; t < DL; t++) {
                a += sumG.lane(t);
                b += sumGxhat.lane(t);
            }
            for (int j = limit; j < width; j++) {
                double d = dy[dyOffset + row + j];
                double xhat = (x[xOffset + row + j] - mu) * inv;
                double g = d * (gamma == null ? 1.0 : gamma[j]);
                a += g;
                b = Math.fma(g, xhat, b);
                dgamma[j] = Math.fma(d, xhat, dgamma[j]);
                if (dbeta != null) {
                    dbeta[j] += d;
                }
            }
            if (dx == null) {
                continue;
            }
            // dx = inv * (g - xhat * b / width - a / width), as inv * g + (xhat * perXhat + constant).
            double perXhat = -inv * b / width;
            double constant = mean == null ? 0.0 : -inv * a / width;
            DoubleVector vPerXhat = DoubleVector.broadcast(D, perXhat);
            DoubleVector vConstant = DoubleVector.broadcast(D, constant);
            for (int j = 0; j < limit; j += DL) {
                DoubleVector d = widen(FloatVector.fromArray(FH, dy, dyOffset + row + j));
                DoubleVector g = gamma == null ? d : d.mul(widen(FloatVector.fromArray(FH, gamma, j)));
                DoubleVector xhat = widen(FloatVector.fromArray(FH, x, xOffset + row + j)).sub(vMu).mul(vInv);
                narrow(g.fma(vInv, xhat.fma(vPerXhat, vConstant))).intoArray(dx, dxOffset + row + j);
            }
            for (int j = limit; j < width; j++) {
                double g = dy[dyOffset + row + j] * (gamma == null ? 1.0 : gamma[j]);
                double xhat = (x[xOffset + row + j] - mu) * inv;
                dx[dxOffset + row + j] = (float) Math.fma(g, inv, Math.fma(xhat, perXhat, constant));
            }
        }
    }

    private static FloatVector narrow(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FH, 0);
    }
}
