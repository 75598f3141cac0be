package dev.vecnorm.bench.compare;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * Median wall-clock time of repeated calls after warm-up (and the floor's best call); enough for a short
 * self-checking run, not JMH. The warm-up is counted and timed: C2 needs thousands of loop iterations before small
 * shapes run compiled code.
 */
final class Timer {

    private final int warmups;
    private final double warmupSeconds;
    private final int repetitions;
    private final double minSeconds;
    private final double jitQuietSeconds;

    /** Without waiting for the JIT (tests). */
    Timer(int warmups, double warmupSeconds, int repetitions, double minSeconds) {
        this(warmups, warmupSeconds, repetitions, minSeconds, 0);
    }

    /**
     * @param jitQuietSeconds after the warm-up, keep calling until the JIT has compiled nothing for
     *     {@link #QUIET_MILLIS}, for at most this long (0: don't wait)
     */
    Timer(int warmups, double warmupSeconds, int repetitions, double minSeconds, double jitQuietSeconds) {
        this.warmups = warmups;
        this.warmupSeconds = warmupSeconds;
        this.repetitions = repetitions;
        this.minSeconds = minSeconds;
        this.jitQuietSeconds = jitQuietSeconds;
    }

    /**
     * How long the JIT must have finished no compilation before timing starts. A kernel that a new shape sends
     * back to the compiler runs profiled C1 code meanwhile, 50-100x slower: compare --quick timed RMSNorm's
     * 1x4096 backward at 0.27 ms where it runs in 3.4 us once C2 has recompiled it (~0.4 s on the 2-core host).
     * C2 reports a compilation when it ends, and one of these kernels takes it 0.1-0.3 s.
     */
    static final long QUIET_MILLIS = 300;

    double medianMillis(Runnable call) {
        double[] measured = timedCalls(call);
        int count = measured.length;
        return count % 2 == 1 ? measured[count / 2] : (measured[count / 2 - 1] + measured[count / 2]) / 2;
    }

    /**
     * The same-run floor: the best call of two timed rounds of {@code floor}, one before and one after
     * {@code between} (the implementations measured against it), so that a floor timed during a slow stretch of a
     * noisy host still counts its fast calls. A floor is a bound: its best call, not its median.
     */
    double floorMillis(Runnable floor, Runnable between) {
        double before = timedCalls(floor)[0];
        between.run();
        return Math.min(before, timedCalls(floor)[0]);
    }

    /** Calls {@code call} until no compilation has finished for {@link #QUIET_MILLIS}, at most jitQuietSeconds. */
    private void untilTheJitIsQuiet(Runnable call) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jitQuietSeconds <= 0 || jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long end = System.nanoTime() + (long) (jitQuietSeconds * 1e9);
        long compiled = jit.getTotalCompilationTime();
        long quietSince = System.nanoTime();
        while (System.nanoTime() < end && System.nanoTime() - quietSince < QUIET_MILLIS * 1_000_000) {
            call.run();
            long now = jit.getTotalCompilationTime();
            if (now != compiled) {
                compiled = now;
                quietSince = System.nanoTime();
            }
        }
    }

    /** The calls' times in ms after warm-up, sorted. */
    private double[] timedCalls(Runnable call) {
        long warmupStart = System.nanoTime();
        for (int i = 0; i < warmups || System.nanoTime() - warmupStart < warmupSeconds * 1e9; i++) {
            call.run();
        }
        untilTheJitIsQuiet(call);
        double[] times = new double[10 * repetitions];
        int count = 0;
        long start = System.nanoTime();
        while (count < times.length && (count < repetitions || (System.nanoTime() - start) < minSeconds * 1e9)) {
            long t0 = System.nanoTime();
            call.run();
            times[count++] = (System.nanoTime() - t0) / 1e6;
        }
        double[] measured = Arrays.copyOf(times, count);
        Arrays.sort(measured);
        return measured;
    }
}
