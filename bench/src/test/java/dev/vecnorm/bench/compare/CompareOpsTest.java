package dev.vecnorm.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code compare --ops} without vector code: its usage errors, its help, and the PyTorch family script. */
@Tag("width-independent")
class CompareOpsTest {

    @Test
    void anUnknownOpsValueExitsTwoNamingIt() throws Exception {
        CompareFamilyTest.Result r = CompareFamilyTest.run(CompareFamilyTest.FAST, "--ops", "layernorm,bogus");
        assertEquals(2, r.status());
        assertTrue(r.out().isEmpty(), r.out());
        assertTrue(r.err().startsWith("compare: unknown --ops value 'bogus' (known: batchnorm,layernorm,rmsnorm,"
                + "groupnorm,instancenorm,channels-last,fused)\nusage: ./vecnorm compare "), r.err());
        assertEquals(2, CompareFamilyTest.run(CompareFamilyTest.FAST, "--ops").status());
        assertTrue(CompareFamilyTest.run(CompareFamilyTest.FAST, "--ops", "").err()
                .startsWith("compare: unknown --ops value ''"));
    }

    @Test
    void aShapeASuiteCannotRunIsAUsageErrorNamingBoth() throws Exception {
        CompareFamilyTest.Result r = CompareFamilyTest.run(CompareFamilyTest.FAST, "--ops", "layernorm,groupnorm",
                "--shapes", "2x16x4x4");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("compare: groupnorm cannot run on shape 2x16x4x4: 32 groups need C divisible "
                + "by 32\n"), r.err());
        CompareFamilyTest.Result fused = CompareFamilyTest.run(CompareFamilyTest.FAST, "--ops", "fused", "--shapes",
                "1x8x1x1");
        assertEquals(2, fused.status());
        assertTrue(fused.err().startsWith("compare: fused cannot run on shape 1x8x1x1: "), fused.err());
        // The default suite keeps its message as it was.
        assertTrue(CompareFamilyTest.run(CompareFamilyTest.FAST, "--shapes", "8").err()
                .startsWith("compare: shape must have rank 2 to 5"));
    }

    @Test
    void theHelpListsEverySuiteWithItsDefaultShapes() throws Exception {
        String help = CompareFamilyTest.run(CompareFamilyTest.FAST, "--help").out();
        assertTrue(help.contains("--ops LIST   comma-separated suites, default batchnorm"), help);
        for (Suite suite : Suite.values()) {
            assertTrue(help.contains("\n               " + suite.label + " "), suite.label + ":\n" + help);
            if (suite != Suite.BATCHNORM) {
                assertTrue(help.contains(String.join(",", suite.defaultShapes)), suite.label + ":\n" + help);
            }
        }
        assertEquals(List.of(Suite.FUSED, Suite.LAYERNORM), Suite.parseList("fused, layernorm,fused"));
    }

    /** The script the family suites run under PyTorch: every op of every suite has a time (if torch is here). */
    @Test
    void thePyTorchFamilyScriptTimesEveryOpOfEveryCase(@TempDir Path dir) throws Exception {
        Process probe = new ProcessBuilder(PyTorchPeer.PYTHON, "-c", "import torch").redirectErrorStream(true)
                .start();
        probe.getInputStream().readAllBytes();
        Assumptions.assumeTrue(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "python3-torch is not installed");
        List<FamilyCompare.Case> cases = new ArrayList<>();
        for (Suite suite : Suite.values()) {
            if (suite != Suite.BATCHNORM) {
                cases.addAll(FamilyCompare.cases(suite, List.of("2x64x3x5")));
            }
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PyTorchPeer torch = PyTorchPeer.runFamily(cases.stream().map(FamilyCompare.Case::key).toList(), 1, true,
                dir, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertTrue(torch != null, log.toString(StandardCharsets.UTF_8));
        assertEquals(List.of("avx2", "avx512"), torch.capabilities);
        for (FamilyCompare.Case cs : cases) {
            for (Op op : cs.suite().ops) {
                for (String cap : torch.capabilities) {
                    double ms = torch.ms(cs.key(), op, cap);
                    assertTrue(ms > 0, cs.key() + " " + op.label + " " + cap + ": " + ms);
                }
            }
        }
        assertTrue(Files.exists(dir.resolve("pytorch-family-avx2.json")));
        assertFalse(torch.version.isEmpty());
    }
}
