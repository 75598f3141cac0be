package dev.vecnorm.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command line's contract: help on every command, usage errors print the usage and exit 2. */
class MainTest {

    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyCommandAnswersHelpOnStdoutWithExitZero() throws Exception {
        for (String[] args : new String[][] {{"--help"}, {"-h"}, {"help"}, {"compare", "--help"},
                {"compare", "-h"}, {"conform", "--help"}, {"stability", "--help"}, {"lenet", "--help"}}) {
            Result r = run(args);
            String what = String.join(" ", args);
            assertEquals(0, r.status(), what + ": " + r.err());
            assertTrue(r.out().startsWith("usage: ./vecnorm "), what + ":\n" + r.out());
            assertTrue(r.err().isEmpty(), what + ": " + r.err());
        }
        assertTrue(run("--help").out().contains("./vecnorm COMMAND --help"));
        for (String command : new String[] {"compare", "conform", "stability", "jmh", "lenet"}) {
            assertTrue(run("--help").out().contains("\n  " + command + " "), command);
        }
    }

    @Test
    void commandUsagesGiveTheirDefaults() throws Exception {
        String compare = run("compare", "--help").out();
        assertTrue(compare.contains("default 1"), compare);
        assertTrue(compare.contains("default compare-results"), compare);
        assertTrue(compare.contains("default 32x64x56x56,"), compare);
        assertTrue(compare.contains("default batchnorm"), compare);
        String conform = run("conform", "--help").out();
        assertTrue(conform.contains("default 1e-07 (ONNX's)") && conform.contains("default 1e-03 (ONNX's)"),
                conform);
        assertTrue(conform.contains("bench/src/test/resources/conformance/onnx"), conform);
    }

    @Test
    void usageErrorsPrintTheUsageOnStderrAndExitTwo() throws Exception {
        Result none = run();
        assertEquals(2, none.status());
        assertTrue(none.err().startsWith("usage: ./vecnorm COMMAND"), none.err());

        Result unknown = run("frobnicate");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().startsWith("vecnorm: unknown command 'frobnicate'\nusage: ./vecnorm COMMAND"),
                unknown.err());

        for (String[] args : new String[][] {{"compare", "--bogus"}, {"compare", "--threads"},
                {"compare", "--threads", "two"}, {"compare", "--threads", "0"}, {"compare", "--shapes", "32xax7"},
                {"compare", "--ops", "bogus"}, {"compare", "--ops"}}) {
            Result r = run(args);
            String what = String.join(" ", args);
            assertEquals(2, r.status(), what);
            assertTrue(r.out().isEmpty(), what + ": " + r.out());
            assertTrue(r.err().startsWith("compare: "), what + ": " + r.err());
            assertFalse(r.err().contains("compare: compare"), what + ": " + r.err());
            assertTrue(r.err().contains("\nusage: ./vecnorm compare "), what + ": " + r.err());
        }
        assertTrue(run("compare", "--threads", "two").err()
                .startsWith("compare: --threads needs a whole number, got 'two'\n"));
        assertTrue(run("compare", "--bogus").err().startsWith("compare: unknown option --bogus\n"));

        Result stability = run("stability", "--jvms", "0");
        assertEquals(2, stability.status());
        assertTrue(stability.err().startsWith("stability: --jvms must be >= 1, got 0\nusage: ./vecnorm stability"),
                stability.err());
    }
}
