package dev.vecnorm.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code compare --ops}: every family suite runs on tiny shapes through the command's own code (one call per
 * measurement, no peers, no kernel warm-up: seconds), passes its float64 self-check, and prints and writes a row
 * for each op and implementation; the default run is still BatchNorm's alone.
 */
class CompareFamilyTest {

    /** One warm-up call and one timed call per measurement. */
    static final Compare.Settings FAST = new Compare.Settings(new Timer(1, 0, 1, 0), false, false);

    record Result(int status, String out, String err) {
    }

    static Result run(Compare.Settings settings, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Compare.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), settings);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The console table of one case: from its heading to the next blank line. */
    private static String table(String out, String heading) {
        int start = out.indexOf("\n" + heading + "\n");
        assertTrue(start >= 0, "no table '" + heading + "' in:\n" + out);
        int end = out.indexOf("\n\n", start + 1);
        return out.substring(start, end < 0 ? out.length() : end);
    }

    @Test
    void everyFamilySuiteRunsOnTinyShapesPassesItsSelfCheckAndWritesItsRows(@TempDir Path dir) throws Exception {
        // C = 64: 32 groups of 2 channels; rank 4 and rank 3 (channels-last NLC); D = 5 and 17 (vector tails).
        List<String> shapes = List.of("2x64x3x5", "2x32x17");
        Result r = run(FAST, "--quick", "--ops", "layernorm,rmsnorm,groupnorm,instancenorm,channels-last,fused",
                "--shapes", String.join(",", shapes), "--out", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertFalse(r.out().contains("SELF-CHECK FAILED"), r.out());
        assertFalse(r.out().contains("## 2x64x3x5\n"), "the BatchNorm suite must not run:\n" + r.out());
        String md = Files.readString(dir.resolve("compare.md"));
        for (Suite suite : List.of(Suite.LAYERNORM, Suite.RMSNORM, Suite.GROUPNORM, Suite.INSTANCENORM,
                Suite.CHANNELS_LAST, Suite.FUSED)) {
            assertTrue(r.out().contains("self-check passed (" + suite.label + ")"), suite.label + ":\n" + r.out());
            assertTrue(r.out().contains("\n# " + suite.label + ": "), suite.label);
            assertTrue(md.contains("\n## " + suite.label + ": "), suite.label + ":\n" + md);
            List<FamilyCompare.Case> cases = FamilyCompare.cases(suite, shapes);
            assertEquals(shapes.size() * suite.layouts.size(), cases.size());
            for (FamilyCompare.Case cs : cases) {
                String table = table(r.out(), "## " + suite.label + " " + cs.label());
                for (Op op : suite.ops) {
                    for (String impl : List.of(Compare.FLOOR, Compare.SCALAR, Compare.VECTOR)) {
                        assertTrue(table.contains("| " + op.label + " | " + impl + " | "),
                                suite.label + " " + cs.label() + " " + op.label + " " + impl + ":\n" + table);
                    }
                }
                assertEquals(3 * suite.ops.size(), table.lines().filter(l -> l.startsWith("| ")).count() - 1,
                        "floor, scalar and Vector API rows per op (no peers):\n" + table);
                assertTrue(md.contains("\n### " + cs.label() + "\n"), cs.label() + ":\n" + md);
            }
            List<String> csv = Files.readAllLines(dir.resolve(Report.csvName(suite)));
            assertEquals(1 + cases.size() * 3 * suite.ops.size(), csv.size(), String.join("\n", csv));
            assertTrue(Files.size(dir.resolve(Report.chartName(suite))) > 0, suite.label);
        }
        // The groupnorm channels-last rows say their layout in the CSV; the fused rows their cost over BN alone.
        assertTrue(Files.readString(dir.resolve("compare-groupnorm.csv")).contains("\n2x32x17,channels-last,backward,"));
        String fused = table(r.out(), "## fused 2x64x3x5");
        assertTrue(fused.lines().anyMatch(l -> l.startsWith("| inference+add+relu | vecnorm Vector API |")
                && l.matches(".*\\| [+-]\\d+\\.\\d% \\|$")), fused);
        assertTrue(r.out().contains("fused 2x64x3x5 training+relu: "), r.out());
        assertTrue(r.out().contains("wrote " + dir.resolve("compare.md") + ", " + dir.resolve("compare-layernorm.csv")),
                r.out());
        assertFalse(Files.exists(dir.resolve("compare.csv")), "compare.csv is BatchNorm's");
    }

    @Test
    void threadsAboveOneRunEverySuiteOnThePool(@TempDir Path dir) throws Exception {
        Result r = run(FAST, "--ops", "rmsnorm,groupnorm", "--threads", "2", "--shapes", "2x64x3x5", "--out",
                dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("RMSNormOps.parallel"), r.out());
        assertFalse(r.out().contains("(1 thread)"), r.out());
        assertTrue(table(r.out(), "## rmsnorm 2x64x3x5").contains("| forward | vecnorm Vector API |"));
        assertTrue(table(r.out(), "## groupnorm 2x64x3x5 channels-last").contains("| forward | vecnorm Vector API |"));
    }

    @Test
    void theDefaultIsTheBatchNormSuiteAlone(@TempDir Path dir) throws Exception {
        Result r = run(FAST, "--shapes", "2x8x5x5", "--out", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("\n## 2x8x5x5\n"), r.out());
        assertTrue(r.out().contains("\nself-check passed: every vecnorm output within 1e-5 of float64"), r.out());
        assertFalse(r.out().contains("\n# "), "no family suite:\n" + r.out());
        assertTrue(Files.exists(dir.resolve("compare.csv")));
        for (Op op : Op.BATCH_NORM) {
            assertTrue(Files.exists(dir.resolve("compare-" + op.label + ".png")), op.label);
        }
        try (var files = Files.list(dir)) {
            assertEquals(5, files.count(), "compare.md, compare.csv and three charts");
        }
    }
}
