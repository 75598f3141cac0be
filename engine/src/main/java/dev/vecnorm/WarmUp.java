package dev.vecnorm;

import java.util.ArrayList;
import java.util.List;

/**
 * Compiles the kernels before the first real call. The Vector API runs interpreted until the JIT has compiled a
 * kernel, so a fresh JVM's first training call on a 32x64x56x56 tensor takes ~0.3 s instead of ~2 ms, and the
 * next few hundred milliseconds are slow too. {@link #run()} drives every kernel (BatchNorm training, inference,
 * backward, frozen backward; long runs, runs with tails, rank 2, channels-last; LayerNorm and RMSNorm forward
 * and backward on wide and narrow rows; GroupNorm, which InstanceNorm runs on, in both layouts) on small
 * synthetic tensors until they are compiled; {@link #start()} does the same on a background daemon thread, so it overlaps with
 * the caller's own start-up (loading data, building a model). Results never depend on whether it ran.
 */
public final class WarmUp {

    /** Calls per shape and operation; enough for C2 to compile the loops (about 0.6-0.8 s in all on the 2-core test host, mostly C2 compiling). */
    static final int ROUNDS = Integer.getInteger("vecnorm.warmUpRounds", 200);

    private static final int[][] SHAPES = {{4, 8, 16, 16}, {4, 8, 7, 7}, {4, 16, 14, 14}, {64, 96}, {8, 12, 3}};

    private WarmUp() {
    }

    /** Runs the warm-up on the calling thread, with {@link BatchNormOps#get()}'s kernels, single-threaded. */
    public static void run() {
        run(BatchNormOps.get().singleThreaded());
    }

    /** Starts {@link #run()} on a daemon thread named "vecnorm-warm-up" and returns it (join it to wait). */
    public static Thread start() {
        Thread t = new Thread(WarmUp::run, "vecnorm-warm-up");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Every round runs every shape and pass: C2 compiles only the branches its profile has seen, and the profile
     * starts when a method is first compiled with profiling, part-way through a warm-up. Shapes warmed one after
     * another left the first shapes' branches out of it, so a later call down one of them fell back to the
     * interpreter until the method was compiled again: a fresh JVM's first ~1000 RMSNorm 1x4096 backward calls
     * took 0.25-1 ms each (3.4 us compiled) after a warm-up that had run rows of 1036 before rows of 100.
     */
    static void run(BatchNormOps ops) {
        List<Runnable> passes = new ArrayList<>();
        batchNorm(ops, passes);
        rows(passes);
        groups(passes);
        for (int r = 0; r < ROUNDS; r++) {
            for (Runnable pass : passes) {
                pass.run();
            }
        }
    }

    private static float[] wave(int size, double frequency) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) Math.sin(i * frequency) * 3 + 1;
        }
        return a;
    }

    /**
     * BatchNorm training, inference, backward and frozen backward on each shape (long runs, runs with tails,
     * short runs, rank 2 and 3), in both layouts.
     */
    private static void batchNorm(BatchNormOps ops, List<Runnable> passes) {
        for (int[] shape : SHAPES) {
            int size = 1;
            for (int d : shape) {
                size *= d;
            }
            int c = shape[1];
            float[] x = wave(size, 0.37);
            float[] dy = wave(size, 0.91);
            float[] y = new float[size];
            float[] dx = new float[size];
            float[] gamma = new float[c];
            float[] beta = new float[c];
            java.util.Arrays.fill(gamma, 1.25f);
            float[] mean = new float[c];
            float[] invStd = new float[c];
            float[] variance = new float[c];
            java.util.Arrays.fill(variance, 1f);
            float[] dgamma = new float[c];
            float[] dbeta = new float[c];
            for (Layout layout : Layout.values()) {
                passes.add(() -> {
                    ops.forwardTraining(layout, shape, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
                    ops.forwardInference(layout, shape, x, 0, y, 0, gamma, beta, mean, variance, 1e-5);
                    ops.backward(layout, shape, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                    ops.backwardFrozen(layout, shape, dy, 0, x, 0, gamma, mean, variance, 1e-5, dx, 0, dgamma,
                            dbeta);
                });
            }
        }
    }

    /**
     * LayerNorm and RMSNorm, forward and backward, on rows of a page or more (the backward takes four rows
     * together, and the fifth row alone) and under a page, each with and without a tail.
     */
    private static void rows(List<Runnable> passes) {
        LayerNormOps layer = LayerNormOps.get().singleThreaded();
        RMSNormOps rms = RMSNormOps.get().singleThreaded();
        for (int[] shape : new int[][] {{5, 1036}, {5, 1024}, {6, 100}, {6, 96}}) {
            int rows = shape[0];
            int width = shape[1];
            float[] x = wave(rows * width, 0.37);
            float[] dy = wave(rows * width, 0.91);
            float[] y = new float[x.length];
            float[] dx = new float[x.length];
            float[] gamma = wave(width, 0.13);
            float[] beta = wave(width, 0.29);
            float[] mean = new float[rows];
            float[] invStd = new float[rows];
            float[] dgamma = new float[width];
            float[] dbeta = new float[width];
            passes.add(() -> {
                layer.forward(shape, -1, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                layer.backward(shape, -1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                rms.forward(shape, -1, x, 0, y, 0, gamma, 1e-6, invStd);
                rms.backward(shape, -1, dy, 0, x, 0, gamma, invStd, dx, 0, dgamma);
            });
        }
    }

    /** GroupNorm forward and backward in both layouts, with groups of two channels and of one (InstanceNorm). */
    private static void groups(List<Runnable> passes) {
        GroupNormOps groups = GroupNormOps.get().singleThreaded();
        int[] shape = {2, 8, 5, 5};
        int size = 2 * 8 * 5 * 5;
        float[] x = wave(size, 0.37);
        float[] dy = wave(size, 0.91);
        float[] y = new float[size];
        float[] dx = new float[size];
        float[] gamma = wave(8, 0.13);
        float[] beta = wave(8, 0.29);
        float[] dgamma = new float[8];
        float[] dbeta = new float[8];
        for (Layout layout : Layout.values()) {
            for (int g : new int[] {4, 8}) {
                float[] mean = new float[2 * g];
                float[] invStd = new float[2 * g];
                passes.add(() -> {
                    groups.forward(layout, shape, g, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd);
                    groups.backward(layout, shape, g, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                });
            }
        }
    }
}
