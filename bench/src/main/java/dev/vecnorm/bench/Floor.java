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
            y[i] = Math.fma(x[i], a, b);  // as a vector lane does
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
     * compare's 8 B/elem floor: {@link #affine}, the same map as a plain loop (which C2 vectorizes itself), and the
     * map over four streams (each thread's range in quarters, walked side by side), in turn call by call, so that a
     * best-call timing takes the strongest kernel. On a 4.8 MB tensor (in L3) the plain loop measured 0.104 ms
     * against 0.117 ms for the Vector API form, enough for a plain-Java BatchNorm to beat the floor by 10%; from
     * DRAM the two were within 4%, and four streams beat both by 10-15% (25.7 M floats, 6.4-6.9 vs 7.5-8.5 ms,
     * Zen 5, 2026-12-05), which vecnorm's own inference then matched.
     */
    public static Runnable strongestAffine(float[] x, float[] y, java.util.concurrent.ForkJoinPool pool, int threads) {
        return inTurn(() -> affine(x, y, 1.0001f, 0.5f, pool, threads),
                () -> onThreads(x.length, threads, pool, (from, to) -> plainAffine(x, y, 1.0001f, 0.5f, from, to)),
                () -> onThreads(x.length, threads, pool, (from, to) -> fourStreams(x, null, y, 1.0001f, 0.5f, from,
                        to)));
    }

    /** compare's 12 B/elem floor: {@link #affine2}, its plain loop and its four streams, in turn. */
    public static Runnable strongestAffine2(float[] x, float[] dy, float[] dx, java.util.concurrent.ForkJoinPool pool,
            int threads) {
        return inTurn(() -> affine2(x, dy, dx, 1.0001f, 0.5f, pool, threads),
                () -> onThreads(x.length, threads, pool, (from, to) -> plainAffine2(x, dy, dx, 1.0001f, 0.5f, from,
                        to)),
                () -> onThreads(x.length, threads, pool, (from, to) -> fourStreams(x, dy, dx, 1.0001f, 0.5f, from,
                        to)));
    }

    /** A call that runs the kernels one after another, one per call. */
    private static Runnable inTurn(Runnable... kernels) {
        int[] next = {0};
        return () -> {
            kernels[next[0]].run();
            next[0] = (next[0] + 1) % kernels.length;
        };
    }

    /**
     * {@code out = a*x + b} (or {@code a*x + b*dy} when dy is given) on [from, to) as four streams: the range's
     * quarters side by side, all loads before the stores; the rest of the range after.
     */
    static void fourStreams(float[] x, float[] dy, float[] out, float a, float b, int from, int to) {
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int quarter = F.loopBound((to - from) / 4);
        int q1 = from + quarter;
        int q2 = q1 + quarter;
        int q3 = q2 + quarter;
        for (int i = 0; i < quarter; i += F.length()) {
            FloatVector x0 = FloatVector.fromArray(F, x, from + i);
            FloatVector x1 = FloatVector.fromArray(F, x, q1 + i);
            FloatVector x2 = FloatVector.fromArray(F, x, q2 + i);
            FloatVector x3 = FloatVector.fromArray(F, x, q3 + i);
            if (dy == null) {
                x0.fma(va, vb).intoArray(out, from + i);
                x1.fma(va, vb).intoArray(out, q1 + i);
                x2.fma(va, vb).intoArray(out, q2 + i);
                x3.fma(va, vb).intoArray(out, q3 + i);
            } else {
                FloatVector g0 = FloatVector.fromArray(F, dy, from + i);
                FloatVector g1 = FloatVector.fromArray(F, dy, q1 + i);
                FloatVector g2 = FloatVector.fromArray(F, dy, q2 + i);
                FloatVector g3 = FloatVector.fromArray(F, dy, q3 + i);
                x0.fma(va, g0.mul(vb)).intoArray(out, from + i);
                x1.fma(va, g1.mul(vb)).intoArray(out, q1 + i);
                x2.fma(va, g2.mul(vb)).intoArray(out, q2 + i);
                x3.fma(va, g3.mul(vb)).intoArray(out, q3 + i);
            }
        }
        if (dy == null) {
            affine(x, out, a, b, from + 4 * quarter, to);
        } else {
            affine2(x, dy, out, a, b, from + 4 * quarter, to);
        }
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
            dx[i] = Math.fma(x[i], a, dy[i] * b);  // as a vector lane does
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
