package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Tolerance;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Channels-last GroupNorm (and InstanceNorm as G = C): the float64 results of the channels-first tensor,
 * transposed; channels of a group with different means (merged statistics); C below and above the lane count.
 */
class ChannelsLastGroupNormTest {

    /** (N, C, spatial...) and G: C < lanes, C not a multiple of lanes, G = 1, G = C, rank 3 and 5. */
    private static final int[][] SHAPES = {{2, 6, 4, 4}, {3, 4, 7}, {2, 36, 5, 5}, {2, 5, 3, 2, 4}, {2, 64, 8, 8},
        {1, 20, 33, 3}};
    private static final int[] GROUPS = {3, 4, 12, 1, 32, 20};

    static java.util.List<BatchNormKernels> implementations() {
        return GroupNormTest.implementations();
    }

    private static double[] toChannelsLast(NcsShape sh, double[] first) {
        double[] last = new double[first.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    last[(i * sh.s() + j) * sh.c() + ch] = first[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return last;
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void forwardAndBackwardMatchFloat64OfTheChannelsFirstTensor(BatchNormKernels kernels) {
        GroupNormOps ops = GroupNormOps.using(TestBackends.of(kernels));
        for (int t = 0; t < SHAPES.length; t++) {
            int[] dims = SHAPES[t];
            int groups = GROUPS[t];
            NcsShape sh = NcsShape.of(dims);
            for (Distribution dist : new Distribution[] {Distribution.NORMAL, Distribution.LARGE_OFFSET,
                Distribution.MIXTURE, Distribution.SPARSE_TINY, Distribution.HEAVY_TAILS, Distribution.CONSTANT}) {
                float[] x = dist.tensor(sh, 11 + t);
                float[] dy = Distribution.NORMAL.tensor(sh, 21 + t);
                float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 5);
                float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 6);
                float[] xLast = ChannelsLastTest.toChannelsLast(sh, x);
                float[] dyLast = ChannelsLastTest.toChannelsLast(sh, dy);
                float[] y = new float[x.length];
                float[] mean = new float[sh.n() * groups];
                float[] invStd = new float[sh.n() * groups];
                ops.forward(Layout.CHANNELS_LAST, dims, groups, xLast, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                GroupNormTest.Reference want = GroupNormTest.reference(dims, groups, x, dy, gamma, beta, 1e-5, mean,
                        invStd);
                String tag = kernels.name() + " " + Arrays.toString(dims) + " G=" + groups + " " + dist;
                Tolerance.assertClose(tag + " y", toChannelsLast(sh, want.y()), y);
                Tolerance.assertClose(tag + " mean", want.mean(), mean);
                Tolerance.assertClose(tag + " invStd", want.invStd(), invStd);
                float[] dx = new float[x.length];
                float[] dgamma = new float[sh.c()];
                float[] dbeta = new float[sh.c()];
                ops.backward(Layout.CHANNELS_LAST, dims, groups, dyLast, 0, xLast, 0, gamma, mean, invStd, dx, 0,
                        dgamma, dbeta);
                Tolerance.assertClose(tag + " dx", toChannelsLast(sh, want.dx()), dx);
                double[] scale = new double[sh.c()];
                Arrays.fill(scale, Math.sqrt(sh.n() * sh.s()));
                Tolerance.assertCloseScaled(tag + " dgamma", want.dgamma(), dgamma, scale);
                Tolerance.assertCloseScaled(tag + " dbeta", want.dbeta(), dbeta, scale);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void inPlaceAndOffsetCallsGiveTheSameBits(BatchNormKernels kernels) {
        GroupNormOps ops = GroupNormOps.using(TestBackends.of(kernels));
        int[] dims = {3, 12, 5, 6};
        NcsShape sh = NcsShape.of(dims);
        int size = (int) sh.size();
        float[] x = Distribution.MIXTURE.tensor(sh, 3);
        float[] dy = Distribution.NORMAL.tensor(sh, 4);
        float[] gamma = Distribution.uniform(12, 0.5f, 2f, 5);
        float[] y = new float[size];
        float[] mean = new float[12];
        float[] invStd = new float[12];
        ops.forward(Layout.CHANNELS_LAST, dims, 4, x, 0, y, 0, gamma, null, 1e-5, mean, invStd);
        float[] dx = new float[size];
        float[] dgamma = new float[12];
        float[] dbeta = new float[12];
        ops.backward(Layout.CHANNELS_LAST, dims, 4, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);

        float[] shifted = new float[size + 7];
        System.arraycopy(x, 0, shifted, 7, size);
        ops.forward(Layout.CHANNELS_LAST, dims, 4, shifted, 7, shifted, 7, gamma, null, 1e-5, null, null);
        assertArrayEquals(y, Arrays.copyOfRange(shifted, 7, size + 7), "in place at offset 7");

        float[] dyInPlace = new float[size + 3];
        System.arraycopy(dy, 0, dyInPlace, 3, size);
        float[] dgamma2 = new float[12];
        ops.backward(Layout.CHANNELS_LAST, dims, 4, dyInPlace, 3, x, 0, gamma, mean, invStd, dyInPlace, 3, dgamma2,
                null);
        assertArrayEquals(dx, Arrays.copyOfRange(dyInPlace, 3, size + 3), "dx in place of dy at offset 3");
        assertArrayEquals(dgamma, dgamma2);
    }

    @Test
    void tensorOverloadsKeepTheLayoutAndEqualTheRawCalls() {
        GroupNormOps ops = GroupNormOps.get();
        int[] dims = {2, 8, 3, 5};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 8);
        float[] dy = Distribution.NORMAL.tensor(sh, 9);
        Affine affine = new Affine(Distribution.uniform(8, 0.5f, 2f, 1), Distribution.uniform(8, -1f, 1f, 2));
        Tensor xt = Tensor.of(x, dims).in(Layout.CHANNELS_LAST);
        Normalized out = ops.forward(xt, 2, affine, 1e-5);
        assertTrue(out.y().layout() == Layout.CHANNELS_LAST, "y keeps x's layout");
        float[] y = new float[x.length];
        float[] mean = new float[4];
        float[] invStd = new float[4];
        ops.forward(Layout.CHANNELS_LAST, dims, 2, x, 0, y, 0, affine.weight(), affine.bias(), 1e-5, mean, invStd);
        assertArrayEquals(y, out.y().toArray());
        assertArrayEquals(mean, out.saved().mean());
        NormGradients g = ops.backward(Tensor.of(dy, dims).in(Layout.CHANNELS_LAST), xt, 2, affine.weight(),
                out.saved());
        assertTrue(g.dx().layout() == Layout.CHANNELS_LAST, "dx keeps x's layout");
        float[] dx = new float[x.length];
        ops.backward(Layout.CHANNELS_LAST, dims, 2, dy, 0, x, 0, affine.weight(), mean, invStd, dx, 0, null, null);
        assertArrayEquals(dx, g.dx().toArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.backward(Tensor.of(dy, dims), xt, 2, affine.weight(), out.saved()));
        assertTrue(e.getMessage().contains("dy has shape"), e.getMessage());
        IllegalArgumentException nullLayout = assertThrows(IllegalArgumentException.class, () -> ops.forward(null,
                dims, 2, x, 0, y, 0, null, null, 1e-5, null, null));
        assertTrue(nullLayout.getMessage().contains("layout"), nullLayout.getMessage());
    }
}
