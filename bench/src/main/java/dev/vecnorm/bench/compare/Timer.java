package dev.vecnorm.bench.compare;

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

    Timer(int warmups, double warmupSeconds, int repetitions, double minSeconds) {
        this.warmups = warmups;
        this.warmupSeconds = warmupSeconds;
        this.repetitions = repetitions;
        this.minSeconds = minSeconds;
    }

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

    /** The calls' times in ms after warm-up, sorted. */
    private double[] timedCalls(Runnable call) {
        long warmupStart = System.nanoTime();
        for (int i = 0; i < warmups || System.nanoTime() - warmupStart < warmupSeconds * 1e9; i++) {
            call.run();
        }
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
