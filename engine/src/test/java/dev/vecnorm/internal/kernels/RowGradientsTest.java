package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * LayerNorm's row backward: the vector kernel against the scalar reference on offset data (where dx is a small
 * difference of large terms), widths with and without tails at every vector width, gamma null or not, dx null,
 * offsets; and both against the formula evaluated directly in double.
 */
class RowGradientsTest {

    @Test
    void vectorRowsAgreeWithTheScalarReferenceAndTheFormula() {
        BatchNormKernels scalar = Kernels.scalar();
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        Random random = new Random(9);
        for (int width : new int[] {1, 3, 4, 7, 8, 9, 16, 17, 33, 100, 768, 1024, 1031}) {
            for (boolean withGamma : new boolean[] {true, false}) {
                // With dbeta's column sums, rows go four at a time, one from each quarter: 9 rows are two groups
                // (rows 0, 2, 4, 6 and 1, 3, 5, 7) and row 8.
                int rows = 9;
                float[] x = new float[2 + rows * width];
                float[] dy = new float[1 + rows * width];
                for (int i = 0; i < x.length; i++) {
                    x[i] = 1000f + (float) random.nextGaussian();
                }
                for (int i = 0; i < dy.length; i++) {
                    dy[i] = (float) random.nextGaussian();
                }
                float[] gamma = withGamma ? new float[width] : null;
                for (int j = 0; withGamma && j < width; j++) {
                    gamma[j] = 0.5f + random.nextFloat();
                }
                float[] mean = new float[rows];
                float[] invStd = new float[rows];
                for (int k = 0; k < rows; k++) {
                    double sum = 0;
                    for (int j = 0; j < width; j++) {
                        sum += x[2 + k * width + j];
                    }
                    mean[k] = (float) (sum / width);
                    invStd[k] = (float) (0.5 + random.nextDouble());
                }
                float[] dxScalar = new float[4 + rows * width];
                float[] dxVector = new float[4 + rows * width];
                Arrays.fill(dxVector, Float.NaN);
                Arrays.fill(dxScalar, Float.NaN);
                // Both column sums in one array, dbeta's where the ops put it.
                int dbetaAt = BatchNormKernels.dbetaOffset(width);
                double[] colsS = new double[dbetaAt + width];
                double[] colsV = new double[dbetaAt + width];
                // The statistics at an offset, after values that must not be read.
                float[] meanAt3 = shifted(mean, 3);
                float[] invStdAt3 = shifted(invStd, 3);
                scalar.rowGradients(dy, 1, x, 2, dxScalar, 4, rows, width, gamma, meanAt3, invStdAt3, 3, colsS, dbetaAt);
                vector.rowGradients(dy, 1, x, 2, dxVector, 4, rows, width, gamma, meanAt3, invStdAt3, 3, colsV, dbetaAt);
                String where = "width " + width + (withGamma ? " with gamma" : "");
                for (int i = 0; i < 4; i++) {
                    assertTrue(Float.isNaN(dxVector[i]), where + ": wrote before dx");
                }
                for (int k = 0; k < rows; k++) {
                    double a = 0;
                    double b = 0;
                    for (int j = 0; j < width; j++) {
                        double g = dy[1 + k * width + j] * (withGamma ? gamma[j] : 1.0);
                        a += g;
                        b += g * (x[2 + k * width + j] - (double) mean[k]);
                    }
                    double inv = invStd[k];
                    for (int j = 0; j < width; j++) {
                        double g = dy[1 + k * width + j] * (withGamma ? gamma[j] : 1.0);
                        double xc = x[2 + k * width + j] - (double) mean[k];
                        double exact = inv * g - xc * inv * inv * inv * b / width - inv * a / width;
                        double bar = 1e-5 * (1 + Math.abs(exact));
                        assertEquals(exact, dxScalar[4 + k * width + j], bar, where + " scalar dx");
                        assertEquals(exact, dxVector[4 + k * width + j], bar, where + " vector dx");
                    }
                }
                for (int j = 0; j < width; j++) {
                    double dbS = colsS[dbetaAt + j];
                    assertEquals(dbS, colsV[dbetaAt + j], 1e-12 * (1 + Math.abs(dbS)), where + " dbeta " + j);
                    assertEquals(colsS[j], colsV[j], 1e-9 * (1 + Math.abs(colsS[j])), where + " dgamma " + j);
                }
                if (rows > 4) {
                    // Four rows at a time give the bits of the rows one at a time (one-row calls) in the order
                    // the groups take them: each group's four rows, then the rest.
                    float[] dxOneByOne = new float[4 + rows * width];
                    Arrays.fill(dxOneByOne, Float.NaN);
                    double[] colsOne = new double[dbetaAt + width];
                    int quarter = rows / 4;
                    for (int t = 0; t < rows; t++) {
                        int k = t < 4 * quarter ? t / 4 + (t % 4) * quarter : t;
                        vector.rowGradients(dy, 1 + k * width, x, 2 + k * width, dxOneByOne, 4 + k * width, 1, width,
                                gamma, meanAt3, invStdAt3, 3 + k, colsOne, dbetaAt);
                    }
                    assertArrayEquals(dxOneByOne, dxVector, where + " dx by rows");
                    assertArrayEquals(colsOne, colsV, where + " column sums by rows");
                }
                // dx null: only the column sums, which then double.
                vector.rowGradients(dy, 1, x, 2, null, 0, rows, width, gamma, meanAt3, invStdAt3, 3, colsV, dbetaAt);
                assertEquals(2 * colsS[dbetaAt], colsV[dbetaAt], 1e-12 * (1 + Math.abs(colsS[dbetaAt])),
                        where + " accumulates");
            }
        }
    }

    /** RMSNorm's form (mean null): no centering, no a term, no dbeta; both kernels against the formula. */
    @Test
    void uncenteredRowsAreRmsNormsBackward() {
        Random random = new Random(11);
        for (BatchNormKernels kernels : new BatchNormKernels[] {Kernels.scalar(), Kernels.vector().orElseThrow()}) {
            for (int width : new int[] {1, 5, 8, 17, 64, 1031, 4096}) {
                int rows = 5;
                float[] x = new float[rows * width];
                float[] dy = new float[rows * width];
                float[] gamma = new float[width];
                for (int i = 0; i < x.length; i++) {
                    x[i] = 3f + (float) random.nextGaussian();
                    dy[i] = (float) random.nextGaussian();
                }
                for (int j = 0; j < width; j++) {
                    gamma[j] = 0.5f + random.nextFloat();
                }
                float[] invRms = new float[rows];
                for (int k = 0; k < rows; k++) {
                    invRms[k] = (float) (0.5 + random.nextDouble());
                }
                float[] dx = new float[rows * width];
                double[] dg = new double[width];
                kernels.rowGradients(dy, 0, x, 0, dx, 0, rows, width, gamma, null, shifted(invRms, 1), 1, dg, -1);
                double[] wantDg = new double[width];
                for (int k = 0; k < rows; k++) {
                    double b = 0;
                    for (int j = 0; j < width; j++) {
                        b += (double) dy[k * width + j] * gamma[j] * x[k * width + j];
                        wantDg[j] += (double) dy[k * width + j] * x[k * width + j] * invRms[k];
                    }
                    double inv = invRms[k];
                    for (int j = 0; j < width; j++) {
                        double g = (double) dy[k * width + j] * gamma[j];
                        double exact = inv * g - x[k * width + j] * inv * inv * inv * b / width;
                        assertEquals(exact, dx[k * width + j], 1e-5 * (1 + Math.abs(exact)),
                                kernels.name() + " width " + width + " dx");
                    }
                }
                for (int j = 0; j < width; j++) {
                    assertEquals(wantDg[j], dg[j], 1e-12 * (1 + Math.abs(wantDg[j])), kernels.name() + " dgamma");
                }
            }
        }
    }

    /** {@code values} after {@code offset} NaNs: a kernel that ignores the offset reads a NaN. */
    private static float[] shifted(float[] values, int offset) {
        float[] out = new float[offset + values.length];
        Arrays.fill(out, 0, offset, Float.NaN);
        System.arraycopy(values, 0, out, offset, values.length);
        return out;
    }
}
