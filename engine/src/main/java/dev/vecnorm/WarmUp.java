package dev.vecnorm;

/**
 * Compiles the kernels before the first real call. The Vector API runs interpreted until the JIT has compiled a
 * kernel, so a fresh JVM's first training call on a 32x64x56x56 tensor takes ~0.3 s instead of ~2 ms, and the
 * next few hundred milliseconds are slow too. {@link #run()} drives every kernel (training, inference,
 * backward, frozen backward; long runs, runs with tails, rank 2, channels-last) on small synthetic tensors
 * until they are compiled; {@link #start()} does the same on a background daemon thread, so it overlaps with
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

    static void run(BatchNormOps ops) {
        for (int[] shape : SHAPES) {
            int size = 1;
            for (int d : shape) {
                size *= d;
            }
            int c = shape[1];
            float[] x = new float[size];
            float[] dy = new float[size];
            for (int i = 0; i < size; i++) {
                x[i] = (float) Math.sin(i * 0.37) * 3 + 1;
                dy[i] = (float) Math.cos(i * 0.91);
            }
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
            for (int r = 0; r < ROUNDS; r++) {
                Layout layout = (r & 1) == 0 ? Layout.CHANNELS_FIRST : Layout.CHANNELS_LAST;
                ops.forwardTraining(layout, shape, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
                ops.forwardInference(layout, shape, x, 0, y, 0, gamma, beta, mean, variance, 1e-5);
                ops.backward(layout, shape, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
                ops.backwardFrozen(layout, shape, dy, 0, x, 0, gamma, mean, variance, 1e-5, dx, 0, dgamma, dbeta);
            }
        }
    }
}
