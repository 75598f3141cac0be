package dev.vecnorm.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * compare's timing (issue 12): the floor is timed around the implementations and beating it is flagged ("a floor
 * that is a floor"), and a real run waits for the JIT to be quiet before it times anything.
 */
@Tag("width-independent")
class FloorTest {

    private static Row row(String implementation, double ms) {
        return new Row("8x4", Op.INFERENCE, implementation, ms, 32, 1.0, 2.0, Double.NaN, Double.NaN);
    }

    @Test
    void aFigureMoreThanFivePercentAboveTheFloorIsFlaggedAndNothingElseIs() {
        List<String> warnings = Row.floorWarnings(List.of(row(Compare.FLOOR, 1.0), row(Compare.VECTOR, 0.96),
                row("PyTorch 1.13 avx512", 0.90), row(Compare.SCALAR, 3.0)));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("Bad floor: 8x4 inference PyTorch 1.13 avx512 ran at 111% of the floor"),
                warnings.get(0));
        assertTrue(Row.floorWarnings(List.of(row(Compare.VECTOR, 1 / 1.05))).isEmpty(), "exactly 105% passes");
        assertEquals(1, Row.floorWarnings(List.of(row(Compare.VECTOR, 1 / 1.06))).size());
    }

    @Test
    void theFloorIsTimedBeforeAndAfterTheImplementationsAndKeepsItsBestCall() {
        List<String> events = new ArrayList<>();
        Timer timer = new Timer(1, 0, 3, 0);
        long[] calls = {0};
        double ms = timer.floorMillis(() -> {
            calls[0]++;
            events.add("floor");
            // The calls after the implementations are the fast ones: the floor must take one of them.
            busyWait(events.contains("between") ? 0.2 : 3.0);
        }, () -> events.add("between"));
        int between = events.indexOf("between");
        assertEquals(between, events.lastIndexOf("between"), "the implementations are measured once");
        assertTrue(between >= 4 && events.size() - between - 1 >= 4, "warm-up and three timed calls each side");
        assertTrue(ms < 1.0, "the best call, from the second round: " + ms);
    }

    @Test
    void aRealRunKeepsCallingUntilTheJitHasBeenQuietForItsWindowAndNoLongerThanItsCap() {
        long[] calls = {0};
        Runnable call = () -> {
            calls[0]++;
            busyWait(0.05);
        };
        long start = System.nanoTime();
        new Timer(1, 0, 1, 0, 2.0).medianMillis(call);
        double waited = (System.nanoTime() - start) / 1e6;
        assertTrue(waited >= Timer.QUIET_MILLIS, "waited " + waited + " ms for a quiet JIT");
        assertTrue(waited < 2000 + 500, "at most the cap: " + waited + " ms");
        long withWait = calls[0];
        calls[0] = 0;
        new Timer(1, 0, 1, 0).medianMillis(call);
        assertEquals(2, calls[0], "the tests' timer: one warm-up call, one timed call, no wait");
        assertTrue(withWait > 100, withWait + " calls while waiting");
    }

    private static void busyWait(double millis) {
        long end = System.nanoTime() + (long) (millis * 1e6);
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
