package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * y = relu(bn(x) + residual) fused into the normalize pass, and its backward from y: checked against float64
 * (bn of x plus the residual, then the ReLU; the backward of the masked gradient), in both layouts, with and
 * without the residual and the ReLU.
 */
class FusionTest {

    private static final int[][] SHAPES = {{4, 3, 5, 7}, {3, 16, 8, 8}, {64, 40}, {2, 20, 33}};

    static List<Object[]> cases() {
        List<Object[]> all = new ArrayList<>();
        List<BatchNormKernels> impls = new ArrayList<>();
        impls.add(Kernels.scalar());
        Kernels.vector().ifPresent(impls::add);
        for (BatchNormKernels k : impls) {
            for (Layout layout : Layout.values()) {
                all.add(new Object[] {k, layout});
            }
        }
        return all;
    }

    private static void close(double expected, float got, String what) {
        assertTrue(Math.abs(got - expected) <= 1e-5 * (1 + Math.abs(expected)),
                what + ": expected " + expected + ", got " + got);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void fusedForwardIsBatchNormPlusResidualThenReluInFloat64(BatchNormKernels kernels, Layout layout) {
        BatchNormOps ops = BatchNormOps.using(TestBackends.of(kernels));
        for (int[] dims : SHAPES) {
            NcsShape sh = NcsShape.of(dims);
            // The logical tensor in channels-first order; for channels-last the data is only reinterpreted, so
            // the float64 reference runs on the channels-first view of the same memory.
            NcsShape view = NcsShape.of(layout.memoryShape(dims));
            float[] x = Distribution.MIXTURE.tensor(view, 31);
            float[] z = Distribution.NORMAL.tensor(view, 32);
            float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 33);
            float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 34);
            Float64Reference.Training want = Float64Reference.training(view, x, gamma, beta, 1e-5);
            for (boolean relu : new boolean[] {true, false}) {
                for (boolean residual : new boolean[] {true, false}) {
                    float[] y = new float[sh.size()];
                    float[] mean = new float[sh.c()];
                    float[] invStd = new float[sh.c()];
                    ops.forwardTrainingFused(layout, dims, x, 0, residual ? z : null, 0, y, 0, gamma, beta, 1e-5,
                            mean, invStd, null, relu);
                    float[] yEval = new float[sh.size()];
                    float[] var = new float[sh.c()];
                    for (int ch = 0; ch < sh.c(); ch++) {
                        var[ch] = (float) want.variance()[ch];
                    }
                    ops.forwardInferenceFused(layout, dims, x, 0, residual ? z : null, 0, yEval, 0, gamma, beta,
                            mean, var, 1e-5, relu);
                    double[] eval = Float64Reference.inference(view, x, gamma, beta, mean, var, 1e-5);
                    for (int k = 0; k < y.length; k++) {
                        double v = want.y()[k] + (residual ? z[k] : 0);
                        close(relu ? Math.max(0, v) : v, y[k], "training y[" + k + "] " + sh + " relu=" + relu);
                        double e = eval[k] + (residual ? z[k] : 0);
                        close(relu ? Math.max(0, e) : e, yEval[k], "inference y[" + k + "] " + sh);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void fusedBackwardMasksByTheOutputAndGivesTheResidualItsGradient(BatchNormKernels kernels, Layout layout) {
        BatchNormOps ops = BatchNormOps.using(TestBackends.of(kernels));
        for (int[] dims : SHAPES) {
            NcsShape sh = NcsShape.of(dims);
            NcsShape view = NcsShape.of(layout.memoryShape(dims));
            float[] x = Distribution.MIXTURE.tensor(view, 41);
            float[] z = Distribution.NORMAL.tensor(view, 42);
            float[] dy = Distribution.NORMAL.tensor(view, 43);
            float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 44);
            float[] y = new float[sh.size()];
            float[] mean = new float[sh.c()];
            float[] invStd = new float[sh.c()];
            ops.forwardTrainingFused(layout, dims, x, 0, z, 0, y, 0, gamma, null, 1e-5, mean, invStd, null, true);
            float[] masked = new float[sh.size()];
            int zeros = 0;
            for (int k = 0; k < masked.length; k++) {
                masked[k] = y[k] > 0 ? dy[k] : 0f;
                zeros += y[k] > 0 ? 0 : 1;
            }
            assertTrue(zeros > 0 && zeros < masked.length, "the ReLU must cut some values and keep others");
            Float64Reference.Gradients want = Float64Reference.backward(view, masked, x, gamma, mean, invStd);

            float[] dx = new float[sh.size()];
            float[] dResidual = new float[sh.size()];
            Arrays.fill(dResidual, Float.NaN);
            float[] dgamma = new float[sh.c()];
            float[] dbeta = new float[sh.c()];
            ops.backwardFused(layout, dims, dy, 0, y, 0, x, 0, gamma, mean, invStd, dx, 0, dResidual, 0, dgamma,
                    dbeta, true);
            for (int k = 0; k < dx.length; k++) {
                assertEquals(masked[k], dResidual[k], "dResidual[" + k + "]");
                close(want.dx()[k], dx[k], "dx[" + k + "] of " + sh);
            }
            for (int ch = 0; ch < sh.c(); ch++) {
                double scale = Math.sqrt(sh.perChannel());
                assertTrue(Math.abs(dgamma[ch] - want.dgamma()[ch]) <= 1e-5 * (scale + Math.abs(want.dgamma()[ch])),
                        "dgamma[" + ch + "]");
                assertTrue(Math.abs(dbeta[ch] - want.dbeta()[ch]) <= 1e-5 * (scale + Math.abs(want.dbeta()[ch])),
                        "dbeta[" + ch + "]");
            }
            // Without a dResidual buffer the masked gradient is staged in dx, in place over dy too.
            float[] dyCopy = dy.clone();
            float[] dgamma2 = new float[sh.c()];
            ops.backwardFused(layout, dims, dyCopy, 0, y, 0, x, 0, gamma, mean, invStd, dyCopy, 0, null, 0, dgamma2,
                    null, true);
            for (int k = 0; k < dx.length; k++) {
                assertEquals(dx[k], dyCopy[k], 1e-6f * (1 + Math.abs(dx[k])), "in-place dx[" + k + "]");
            }
        }
    }

    @Test
    void backwardFusedNeedsSomewhereToStageAndRejectsOverlaps() {
        BatchNormOps ops = BatchNormOps.get();
        int[] dims = {2, 3, 4};
        float[] a = new float[24];
        float[] ch = {1, 1, 1};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.backwardFused(
                Layout.CHANNELS_FIRST, dims, a, 0, new float[24], 0, new float[24], 0, null, ch, ch, null, 0, null, 0,
                new float[3], null, true));
        assertTrue(e.getMessage().contains("dResidual"), e.getMessage());
        float[] shared = new float[28];
        e = assertThrows(IllegalArgumentException.class, () -> ops.forwardTrainingFused(Layout.CHANNELS_FIRST, dims,
                new float[24], 0, shared, 0, shared, 4, null, null, 1e-5, null, null, null, true));
        assertTrue(e.getMessage().contains("residual"), e.getMessage());
    }
}
