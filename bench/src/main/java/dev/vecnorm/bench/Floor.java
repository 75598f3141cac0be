package dev.vecnorm.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The bandwidth floor: a streaming {@code y = a*x + b} that reads x once and writes y once. */
public final class Floor {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Floor() {
    }

    public static void affine(float[] x, float[] y, float a, float b) {
        affine(x, y, a, b, 0, x.length);
    }

    private static void affine(float[] x, float[] y, float a, float b, int from, int to) {
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int i = from;
        int bound = from + F.loopBound(to - from);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).fma(va, vb).intoArray(y, i);
        }
        for (; i < to; i++) {
            y[i] = x[i] * a + b;
        }
    }

    /** The floor on {@code threads} threads of the pool: contiguous slices, one per thread. */
    public static void affine(float[] x, float[] y, float a, float b, java.util.concurrent.ForkJoinPool pool,
            int threads) {
        if (threads <= 1) {
            affine(x, y, a, b);
            return;
        }
        sliced(x.length, threads, pool, (from, to) -> affine(x, y, a, b, from, to));
    }

    /** The 12 B/elem floor on {@code threads} threads of the pool. */
    public static void affine2(float[] x, float[] dy, float[] dx, float a, float b,
            java.util.concurrent.ForkJoinPool pool, int threads) {
        if (threads <= 1) {
            affine2(x, dy, dx, a, b);
            return;
        }
        sliced(x.length, threads, pool, (from, to) -> affine2(x, dy, dx, a, b, from, to));
    }

    /**
     * What any batch-norm training must move when x does not fit in cache: one read of x for the statistics
     * (here a plain vector sum, the cheapest reduction), then the streaming {@code y = a*x + b}: 12 B/elem in two
     * passes. Its time against {@link #affine}'s says how close to the 8 B/elem floor a training can get.
     */
    public static float twoPasses(float[] x, float[] y, java.util.concurrent.ForkJoinPool pool, int threads) {
        float[] partial = new float[Math.max(1, threads)];
        if (threads <= 1) {
            partial[0] = sum(x, 0, x.length);
        } else {
            int step = (x.length + threads - 1) / threads;
            sliced(x.length, threads, pool, (from, to) -> partial[from / step] = sum(x, from, to));
        }
        float total = 0;
        for (float p : partial) {
            total += p;
        }
        affine(x, y, 1.0001f, total * 1e-9f, pool, threads);
        return total;
    }

    private static float sum(float[] x, int from, int to) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = from;
        int bound = from + (to - from) / (2 * F.length()) * (2 * F.length());
        for (; i < bound; i += 2 * F.length()) {
            acc0 = acc0.add(FloatVector.fromArray(F, x, i));
            acc1 = acc1.add(FloatVector.fromArray(F, x, i + F.length()));
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) {
            s += x[i];
        }
        return s;
    }

    private interface Slice {
        void run(int from, int to);
    }

    private static void sliced(int length, int threads, java.util.concurrent.ForkJoinPool pool, Slice slice) {
        java.util.List<java.util.concurrent.Callable<Void>> work = new java.util.ArrayList<>();
        int step = (length + threads - 1) / threads;
        for (int from = 0; from < length; from += step) {
            int start = from;
            int end = Math.min(length, from + step);
            work.add(() -> {
                slice.run(start, end);
                return null;
            });
        }
        try {
            pool.invokeAll(work);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * compare's 8 B/elem floor: {@link #affine} and the same map as a plain loop (which C2 vectorizes itself),
     * alternating call by call, so that a best-call timing takes the stronger of the two kernels. On a 4.8 MB
     * tensor (in L3) the plain loop measured 0.104 ms against 0.117 ms for the Vector API form, enough for a
     * plain-Java BatchNorm to beat the floor by 10%; from DRAM the two were within 4%.
     */
    public static Runnable strongestAffine(float[] x, float[] y, java.util.concurrent.ForkJoinPool pool, int threads) {
        return alternating(() -> affine(x, y, 1.0001f, 0.5f, pool, threads),
                () -> onThreads(x.length, threads, pool, (from, to) -> plainAffine(x, y, 1.0001f, 0.5f, from, to)));
    }

    /** compare's 12 B/elem floor: {@link #affine2} and its plain loop, alternating (see {@link #strongestAffine}). */
    public static Runnable strongestAffine2(float[] x, float[] dy, float[] dx, java.util.concurrent.ForkJoinPool pool,
            int threads) {
        return alternating(() -> affine2(x, dy, dx, 1.0001f, 0.5f, pool, threads), () -> onThreads(x.length,
                threads, pool, (from, to) -> plainAffine2(x, dy, dx, 1.0001f, 0.5f, from, to)));
    }

    /** A call that runs {@code first} and {@code second} in turn. */
    private static Runnable alternating(Runnable first, Runnable second) {
        boolean[] secondNext = {false};
        return () -> {
            (secondNext[0] ? second : first).run();
            secondNext[0] = !secondNext[0];
        };
    }

    /** The whole range on the calling thread, or contiguous slices on the pool's threads. */
    private static void onThreads(int length, int threads, java.util.concurrent.ForkJoinPool pool, Slice slice) {
        if (threads <= 1) {
            slice.run(0, length);
        } else {
            sliced(length, threads, pool, slice);
        }
    }

    private static void plainAffine(float[] x, float[] y, float a, float b, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] = x[i] * a + b;
        }
    }

    private static void plainAffine2(float[] x, float[] dy, float[] dx, float a, float b, int from, int to) {
        for (int i = from; i < to; i++) {
            dx[i] = x[i] * a + dy[i] * b;
        }
    }

    /** Reads two arrays and writes one: the 12 B/elem floor of backward. */
    public static void affine2(float[] x, float[] dy, float[] dx, float a, float b) {
        affine2(x, dy, dx, a, b, 0, x.length);
    }

    private static void affine2(float[] x, float[] dy, float[] dx, float a, float b, int from, int to) {
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int i = from;
        int bound = from + F.loopBound(to - from);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).fma(va, FloatVector.fromArray(F, dy, i).mul(vb)).intoArray(dx, i);
        }
        for (; i < to; i++) {
            dx[i] = x[i] * a + dy[i] * b;
        }
    }

    /**
     * The floor of any backward that must finish a channel's sums before writing its dx: per channel, one pass
     * that sums dy and dy*x, then one that writes {@code dx = a*dy + b*x + d} from data still in cache. Float32
     * arithmetic throughout (too inaccurate for vecnorm's bar), so this bounds the structure, not the numerics.
     */
    public static void backwardTwoPasses(int n, int c, int s, float[] dy, float[] x, float[] dx) {
        int bound = F.loopBound(s);
        for (int ch = 0; ch < c; ch++) {
            FloatVector sumDy = FloatVector.zero(F);
            FloatVector sumDyX = FloatVector.zero(F);
            float tailDy = 0;
            float tailDyX = 0;
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                int j = 0;
                for (; j < bound; j += F.length()) {
                    FloatVector g = FloatVector.fromArray(F, dy, run + j);
                    sumDy = sumDy.add(g);
                    sumDyX = g.fma(FloatVector.fromArray(F, x, run + j), sumDyX);
                }
                for (; j < s; j++) {
                    tailDy += dy[run + j];
                    tailDyX += dy[run + j] * x[run + j];
                }
            }
            float count = (float) n * s;
            float a = 1.0001f;
            float b = -(sumDyX.reduceLanes(VectorOperators.ADD) + tailDyX) / count;
            float d = -(sumDy.reduceLanes(VectorOperators.ADD) + tailDy) / count;
            FloatVector va = FloatVector.broadcast(F, a);
            FloatVector vb = FloatVector.broadcast(F, b);
            FloatVector vd = FloatVector.broadcast(F, d);
            for (int i = 0; i < n; i++) {
                int run = (i * c + ch) * s;
                int j = 0;
                for (; j < bound; j += F.length()) {
                    FloatVector.fromArray(F, dy, run + j).fma(va, FloatVector.fromArray(F, x, run + j).fma(vb, vd))
                            .intoArray(dx, run + j);
                }
                for (; j < s; j++) {
                    dx[run + j] = dy[run + j] * a + (x[run + j] * b + d);
                }
            }
        }
    }
}
