package dev.vecnorm;

import java.lang.foreign.MemorySegment;

/**
 * Argument checks shared by the batch-norm entry points (arrays, segments, tensors, both layouts): every check
 * runs before any output or state is written, and names the argument and its value.
 */
final class BatchNormChecks {

    private BatchNormChecks() {
    }

    /**
     * Checks a training call's per-channel arguments, eps and the single-value rule, and returns their overlap
     * check for the caller to add its tensors to (arrays) or run as is (segments).
     */
    static Checks.Regions trainingParameters(int[] shape, int c, long perChannel, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd, RunningStats running) {
        Checks.channels("gamma", gamma, c, true);
        Checks.channels("beta", beta, c, true);
        Checks.channels("saveMean", saveMean, c, true);
        Checks.channels("saveInvStd", saveInvStd, c, true);
        if (running != null) {
            Checks.channels("running mean", running.mean(), c, false);
            Checks.channels("running variance", running.variance(), c, false);
        }
        Checks.epsilon(eps);
        Checks.moreThanOneValuePerChannel(shape, perChannel);
        return Checks.regions()
                .input("gamma", gamma)
                .input("beta", beta)
                .output("saveMean", saveMean)
                .output("saveInvStd", saveInvStd)
                .output("running mean", running == null ? null : running.mean())
                .output("running variance", running == null ? null : running.variance());
    }

    /**
     * Checks a backward call's per-channel arguments and returns their overlap check for the caller to add its
     * tensors to (arrays) or run as is (segments).
     */
    static Checks.Regions backwardParameters(int c, float[] gamma, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        Checks.channels("gamma", gamma, c, true);
        Checks.channels(meanName, mean, c, false);
        Checks.channels(spreadName, spread, c, false);
        Checks.nonNegative(spreadName, spread);
        Checks.channels("dgamma", dgamma, c, true);
        Checks.channels("dbeta", dbeta, c, true);
        return Checks.regions()
                .input("gamma", gamma)
                .input(meanName, mean)
                .input(spreadName, spread)
                .output("dgamma", dgamma)
                .output("dbeta", dbeta);
    }

    static void checkBackward(NcsShape sh, float[] dy, int dyOffset, float[] x, int xOffset,
            float[] gamma, float[] dx, int dxOffset, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        int c = sh.c();
        Checks.tensor("dy", dy, dyOffset, sh);
        Checks.tensor("x", x, xOffset, sh);
        if (dx != null) {
            Checks.tensor("dx", dx, dxOffset, sh);
        }
        backwardParameters(c, gamma, dgamma, dbeta, meanName, mean, spreadName, spread)
                .input("dy", dy, dyOffset, sh.size())
                .input("x", x, xOffset, sh.size())
                .output("dx", dx, dxOffset, sh.size())
                .inPlace("dx", "dy")
                .inPlace("dx", "x")
                .check();
    }

    static void checkSegmentBackward(long[] ncs, MemorySegment dy, long dyOffset, MemorySegment x,
            long xOffset, float[] gamma, MemorySegment dx, long dxOffset, float[] dgamma, float[] dbeta,
            String meanName, float[] mean, String spreadName, float[] spread) {
        int c = (int) ncs[1];
        Checks.segmentGradients(dy, dyOffset, x, xOffset, dx, dxOffset, ncs[3], true);
        backwardParameters(c, gamma, dgamma, dbeta, meanName, mean, spreadName, spread).check();
    }

    static int[] checkedMemoryShape(Layout layout, int[] shape) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        return layout.memoryShape(shape);
    }

    static void requireTensor(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }

    static void requireAffine(Affine affine) {
        if (affine == null) {
            throw new IllegalArgumentException("affine must not be null (Affine.NONE for no weight and bias)");
        }
    }

    static void requireStatistics(MeanVariance statistics) {
        if (statistics == null) {
            throw new IllegalArgumentException("statistics must not be null");
        }
    }
}
