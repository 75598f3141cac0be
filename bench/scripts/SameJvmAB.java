import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * A/B of two builds of the engine in one JVM, for hosts too noisy for separate JMH runs: each jar gets its own
 * class loader (so its own JIT-compiled kernels), and the two are timed in alternating rounds of 10 calls, 40
 * rounds, single-threaded, reporting best and median ms per call. The loader created first tends to measure a
 * few percent slower (array placement), so run every case in both orders and read the pair.
 *
 * <pre>
 * ./vecnorm java bench/scripts/SameJvmAB.java A.jar B.jar CASE SHAPE
 *   (or any JDK 25+ java with --add-modules jdk.incubator.vector; the engine jars are class file version 69)
 *   CASE: layer | rms (backward, SHAPE rows x width; with -training: the forward), bn-nchw | bn-nhwc (BatchNorm backward, SHAPE N x C x ...;
 *         with -inference or -training: that forward instead; -inference-relu: the fused ReLU), group32 (GroupNorm backward, 32 groups),
 *         group32-nhwc (the same on channels-last memory; with -training: the forward)
 * </pre>
 */
public class SameJvmAB {

    interface Call {
        void run() throws Exception;
    }

    private static final int ROUNDS = 40;
    private static final int CALLS = 10;

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: SameJvmAB A.jar B.jar layer|rms|bn-nchw[-inference|-training]|"
                    + "bn-nhwc[-inference|-inference-relu|-training]|group32 SHAPE");
            System.exit(2);
        }
        int[] shape = Arrays.stream(args[3].split("x")).mapToInt(Integer::parseInt).toArray();
        Call[] calls = {call(loader(args[0]), args[2], shape), call(loader(args[1]), args[2], shape)};
        double[][] ms = new double[2][ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            for (int v = 0; v < 2; v++) {
                long start = System.nanoTime();
                for (int i = 0; i < CALLS; i++) {
                    calls[v].run();
                }
                ms[v][round] = (System.nanoTime() - start) / 1e6 / CALLS;
            }
        }
        Arrays.sort(ms[0]);
        Arrays.sort(ms[1]);
        System.out.printf("%s %s  A best %.3f median %.3f | B best %.3f median %.3f  (B/A best %.3f)%n", args[2],
                args[3], ms[0][0], ms[0][ROUNDS / 2], ms[1][0], ms[1][ROUNDS / 2], ms[1][0] / ms[0][0]);
    }

    private static ClassLoader loader(String jar) throws Exception {
        return new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()}, SameJvmAB.class.getClassLoader());
    }

    private static float[] gaussian(Random random, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    private static float[] filled(int size, float value) {
        float[] a = new float[size];
        Arrays.fill(a, value);
        return a;
    }

    /** The call {@code kind} names on {@code shape}, through the engine classes of {@code cl}. */
    private static Call call(ClassLoader cl, String kind, int[] shape) throws Exception {
        String pass = kind.endsWith("-inference-relu") ? "inference-relu" : kind.endsWith("-inference") ? "inference"
                : kind.endsWith("-training") ? "training" : "backward";
        kind = kind.replace("-inference-relu", "").replace("-inference", "").replace("-training", "");
        int total = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        Random random = new Random(1);
        float[] x = gaussian(random, total);
        float[] dy = gaussian(random, total);
        float[] dx = new float[total];
        int features = kind.equals("layer") || kind.equals("rms") ? shape[shape.length - 1] : shape[1];
        int stats = switch (kind) {
            case "layer", "rms" -> total / features;
            case "group32", "group32-nhwc" -> shape[0] * 32;
            default -> features;
        };
        float[] gamma = filled(features, 1f);
        float[] dgamma = new float[features];
        float[] dbeta = new float[features];
        float[] mean = filled(stats, 0.01f);
        float[] invStd = filled(stats, 1.01f);
        String className = switch (kind) {
            case "layer" -> "LayerNormOps";
            case "rms" -> "RMSNormOps";
            case "group32", "group32-nhwc" -> "GroupNormOps";
            case "bn-nchw", "bn-nhwc" -> "BatchNormOps";
            default -> throw new IllegalArgumentException("unknown case " + kind);
        };
        Class<?> ops = cl.loadClass("dev.vecnorm." + className);
        Object o = ops.getMethod("singleThreaded").invoke(ops.getMethod("get").invoke(null));
        Class<?> f = float[].class;
        Class<?> i = int.class;
        Class<?> s = int[].class;
        switch (kind) {
            case "layer": {
                if (pass.equals("training")) {
                    Method m = ops.getMethod("forward", s, i, f, i, f, i, f, f, double.class, f, f);
                    return () -> m.invoke(o, shape, shape.length - 1, x, 0, dx, 0, gamma, dbeta, 1e-5, mean, invStd);
                }
                Method m = ops.getMethod("backward", s, i, f, i, f, i, f, f, f, f, i, f, f);
                return () -> m.invoke(o, shape, shape.length - 1, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma,
                        dbeta);
            }
            case "rms": {
                if (pass.equals("training")) {
                    Method m = ops.getMethod("forward", s, i, f, i, f, i, f, double.class, f);
                    return () -> m.invoke(o, shape, shape.length - 1, x, 0, dx, 0, gamma, 1e-5, invStd);
                }
                Method m = ops.getMethod("backward", s, i, f, i, f, i, f, f, f, i, f);
                return () -> m.invoke(o, shape, shape.length - 1, dy, 0, x, 0, gamma, invStd, dx, 0, dgamma);
            }
            case "group32-nhwc":
                if (pass.equals("training")) {
                    // GroupNorm forward on channels-last memory (batch statistics, as training and eval use).
                    Class<?> layoutClass = cl.loadClass("dev.vecnorm.Layout");
                    Object layout = layoutClass.getField("CHANNELS_LAST").get(null);
                    Method m = ops.getMethod("forward", layoutClass, s, i, f, i, f, i, f, f, double.class, f, f);
                    return () -> m.invoke(o, layout, shape, 32, x, 0, dx, 0, gamma, dbeta, 1e-5, mean, invStd);
                }
                {
                    Class<?> layoutClass = cl.loadClass("dev.vecnorm.Layout");
                    Object layout = layoutClass.getField("CHANNELS_LAST").get(null);
                    Method m = ops.getMethod("backward", layoutClass, s, i, f, i, f, i, f, f, f, f, i, f, f);
                    return () -> m.invoke(o, layout, shape, 32, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma,
                            dbeta);
                }
            case "group32": {
                Method m = ops.getMethod("backward", s, i, f, i, f, i, f, f, f, f, i, f, f);
                return () -> m.invoke(o, shape, 32, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            }
            default: {
                Class<?> layoutClass = cl.loadClass("dev.vecnorm.Layout");
                Object layout = layoutClass.getField(kind.equals("bn-nhwc") ? "CHANNELS_LAST" : "CHANNELS_FIRST")
                        .get(null);
                if (pass.equals("inference-relu")) {
                    Method m = ops.getMethod("forwardInferenceFused", layoutClass, s, f, i, f, i, f, i, f, f, f, f,
                            double.class, boolean.class);
                    return () -> m.invoke(o, layout, shape, x, 0, null, 0, dx, 0, gamma, dbeta, mean, invStd, 1e-5,
                            true);
                }
                if (pass.equals("inference")) {
                    Method m = ops.getMethod("forwardInference", layoutClass, s, f, i, f, i, f, f, f, f, double.class);
                    return () -> m.invoke(o, layout, shape, x, 0, dx, 0, gamma, dbeta, mean, invStd, 1e-5);
                }
                if (pass.equals("training")) {
                    Class<?> running = cl.loadClass("dev.vecnorm.RunningStats");
                    Method m = ops.getMethod("forwardTraining", layoutClass, s, f, i, f, i, f, f, double.class, f, f,
                            running);
                    return () -> m.invoke(o, layout, shape, x, 0, dx, 0, gamma, dbeta, 1e-5, mean, invStd, null);
                }
                Method m = ops.getMethod("backward", layoutClass, s, f, i, f, i, f, f, f, f, i, f, f);
                return () -> m.invoke(o, layout, shape, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            }
        }
    }
}
