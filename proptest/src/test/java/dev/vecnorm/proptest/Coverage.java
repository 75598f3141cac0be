package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.Backend;
import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts how many generated cases fell in each shape and data class, so gaps in generation are visible. */
final class Coverage {

    /** Float lanes of the vector kernels under test (16 for 512-bit), or 16 when they are absent. */
    static final int LANES = Backend.vector().map(k -> Integer.parseInt(k.name().replace("vector-", "")) / 32)
            .orElse(16);

    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

    void record(BnCase c) {
        int s = c.shape().s();
        hit("rank " + c.dims().length);
        hit("distribution " + c.distribution());
        hit(s >= 2 * LANES ? "strategy along-runs" : "strategy across-positions");
        hit(tailClass(s));
        hit(c.shape().n() == 1 ? "N = 1" : "N > 1");
        hit(c.eps() == 0 ? "eps = 0" : "eps > 0");
        hit(c.affine() ? "affine" : "not affine");
    }

    private void hit(String key) {
        counts.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    static String tailClass(int s) {
        if (s == 1) {
            return "S = 1";
        }
        if (s == LANES - 1) {
            return "S = lanes - 1";
        }
        if (s == LANES) {
            return "S = lanes";
        }
        if (s == LANES + 1) {
            return "S = lanes + 1";
        }
        if (s < LANES) {
            return "1 < S < lanes - 1";
        }
        return s % LANES == 0 ? "S > lanes, multiple of lanes" : "S > lanes, with tail";
    }

    static List<String> expectedClasses() {
        List<String> all = new ArrayList<>(List.of("rank 2", "rank 3", "rank 4", "rank 5", "strategy along-runs",
                "strategy across-positions", "S = 1", "S = lanes - 1", "S = lanes", "S = lanes + 1",
                "1 < S < lanes - 1", "S > lanes, multiple of lanes", "S > lanes, with tail", "N = 1", "N > 1",
                "eps = 0", "eps > 0", "affine", "not affine"));
        for (Distribution d : Distribution.values()) {
            all.add("distribution " + d);
        }
        return all;
    }

    /** Prints the counts and fails when an expected class was never generated. */
    void report(String suite) {
        Map<String, Integer> sorted = new TreeMap<>();
        counts.forEach((k, v) -> sorted.put(k, v.get()));
        System.out.println("[coverage " + suite + "] " + sorted);
        List<String> missing = expectedClasses().stream().filter(k -> !sorted.containsKey(k)).toList();
        assertTrue(missing.isEmpty(), suite + ": generated no case in " + missing + "; counts " + sorted);
    }
}
