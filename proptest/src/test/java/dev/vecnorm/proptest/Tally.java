package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts generated cases per class (shape, layout, data), printed after a suite; a class never hit fails it. */
final class Tally {

    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

    void hit(String... keys) {
        for (String k : keys) {
            counts.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
        }
    }

    void report(String suite, List<String> expected) {
        Map<String, Integer> sorted = new TreeMap<>();
        counts.forEach((k, v) -> sorted.put(k, v.get()));
        System.out.println("[coverage " + suite + "] " + sorted);
        List<String> missing = expected.stream().filter(k -> !sorted.containsKey(k)).toList();
        assertTrue(missing.isEmpty(), suite + ": generated no case in " + missing + "; counts " + sorted);
    }
}
