package dev.vecnorm.bench.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.NcsShape;
import dev.vecnorm.bench.Main;
import dev.vecnorm.io.Npy;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The conform command, through the same code path as {@code vecnorm.jar conform}. */
class ConformanceTest {

    private record Result(int status, String out, String err) {
    }

    private static Result conform(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] full = new String[args.length + 1];
        full[0] = "conform";
        System.arraycopy(args, 0, full, 1, args.length);
        int status = Main.run(full, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Path onnxCases() throws URISyntaxException {
        return Path.of(ConformanceTest.class.getResource("/conformance/onnx").toURI());
    }

    @Test
    void byDefaultTheBundledCasesRunAndOnlyResultsAreListed() throws Exception {
        Result r = conform();
        assertEquals(0, r.status(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        for (String c : List.of("test_batchnorm_epsilon", "test_batchnorm_epsilon_training_mode",
                "test_batchnorm_example", "test_batchnorm_example_training_mode", "test_group_normalization_epsilon",
                "test_group_normalization_example_expanded", "test_instancenorm_epsilon",
                "test_instancenorm_example", "test_layer_normalization_2d_axis0", "test_layer_normalization_4d_axis_negative_2",
                "test_rms_normalization_2d_axis1", "test_rms_normalization_3d_axis_negative_1_epsilon")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("PASS " + c + ": largest error ")),
                    c + " in\n" + r.out());
        }
        assertEquals(106, lines.size(), "105 results and the summary:\n" + r.out());
        String summary = lines.get(lines.size() - 1);
        assertEquals("105 passed, 0 failed, 0 errors, 0 skipped", summary);
        assertFalse(r.out().contains("of tolerance"), r.out());
    }

    @Test
    void theBundledBatchNormCasesPassThroughTheChannelsLastPath() throws Exception {
        Result r = conform("--layout", "nhwc");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("PASS test_batchnorm_example_training_mode")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("105 passed, 0 failed")), r.out());
    }

    @Test
    void transposeToChannelsLastAndBackIsTheIdentityAndMovesChannelsInnermost() {
        int[] shape = {2, 3, 4};
        float[] first = new float[24];
        for (int k = 0; k < 24; k++) {
            first[k] = k;
        }
        float[] last = Conformance.transpose(shape, first, true);
        // (n=0, position 1) holds channels 0, 1, 2 of that position: first[0*12 + c*4 + 1].
        assertEquals(1f, last[3]);
        assertEquals(5f, last[4]);
        assertEquals(9f, last[5]);
        org.junit.jupiter.api.Assertions.assertArrayEquals(first, Conformance.transpose(shape, last, false));
    }

    @Test
    void verboseListsTheSkippedCasesAndQuietOnlyProblems(@TempDir Path root) throws Exception {
        // Every bundled case runs now; an operator vecnorm lacks is skipped, and listed only with --verbose.
        writeCase(root.resolve("z_unknown"), "{\"op\": \"FancyNormalization\", \"inputs\": [\"x\"],"
                + " \"outputs\": [\"y\"]}");
        Result verbose = conform("--verbose", onnxCases().toString(), root.toString());
        assertEquals(0, verbose.status(), verbose.err());
        assertTrue(verbose.out().lines().anyMatch(
                "SKIP z_unknown: FancyNormalization is not implemented"::equals), verbose.out());
        assertEquals(1, verbose.out().lines().filter(l -> l.startsWith("SKIP ")).count());
        Result plain = conform(onnxCases().toString(), root.toString());
        assertEquals(0, plain.out().lines().filter(l -> l.startsWith("SKIP ")).count(), plain.out());

        Result quiet = conform("--quiet", onnxCases().toString());
        assertEquals(0, quiet.status(), quiet.err());
        assertEquals(1, quiet.out().lines().count(), quiet.out());
    }

    @Test
    void tighterToleranceThanFloat32CanMeetFailsNamingTheElement() throws Exception {
        Result r = conform("--rtol", "0", "--atol", "0", onnxCases().resolve("test_batchnorm_epsilon").toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().matches("(?s)FAIL test_batchnorm_epsilon: y\\[\\d+] is \\S+, expected \\S+ "
                + "\\(Infinity times the allowed error\\).*"), r.out());
        assertTrue(r.out().contains("0 passed, 1 failed, 0 errors, 0 skipped"), r.out());
    }

    /** Writes a BatchNormalizationGrad case whose expected outputs come from the float64 oracle. */
    private static Path gradCase(Path root, String name, boolean tamper) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name));
        int[] dims = {3, 4, 2, 5};
        NcsShape sh = NcsShape.of(dims);
        float[] x = Distribution.NORMAL.tensor(sh, 1);
        float[] dy = Distribution.UNIFORM.tensor(sh, 2);
        float[] scale = Distribution.uniform(4, 0.5f, 2f, 3);
        Float64Reference.Training t = Float64Reference.training(sh, x, null, null, 1e-5);
        float[] mean = new float[4];
        float[] invStd = new float[4];
        for (int ch = 0; ch < 4; ch++) {
            mean[ch] = (float) t.mean()[ch];
            invStd[ch] = (float) t.invStd()[ch];
        }
        Float64Reference.Gradients g = Float64Reference.backward(sh, dy, x, scale, mean, invStd);
        if (tamper) {
            g.dgamma()[2] = g.dgamma()[2] * 1.01 + 0.01;
        }
        Npy.writeFloat32(dir.resolve("in_dY.npy"), dims, dy);
        Npy.writeFloat32(dir.resolve("in_X.npy"), dims, x);
        Npy.writeFloat32(dir.resolve("in_scale.npy"), new int[] {4}, scale);
        Npy.writeFloat32(dir.resolve("in_saved_mean.npy"), new int[] {4}, mean);
        Npy.writeFloat32(dir.resolve("in_saved_inv_std.npy"), new int[] {4}, invStd);
        Npy.writeFloat64(dir.resolve("out_dX.npy"), dims, g.dx());
        Npy.writeFloat64(dir.resolve("out_dScale.npy"), new int[] {4}, g.dgamma());
        Npy.writeFloat64(dir.resolve("out_dBias.npy"), new int[] {4}, g.dbeta());
        Files.writeString(dir.resolve("case.json"), """
                {"op": "BatchNormalizationGrad", "attributes": {"epsilon": 1e-05},
                 "inputs": ["dY", "X", "scale", "saved_mean", "saved_inv_std"],
                 "outputs": ["dX", "dScale", "dBias"]}
                """);
        return dir;
    }

    @Test
    void batchNormalizationGradCases(@TempDir Path root) throws Exception {
        gradCase(root, "grad_ok", false);
        Result ok = conform(root.resolve("grad_ok").toString());
        assertEquals(0, ok.status(), ok.out());
        assertTrue(ok.out().startsWith("PASS grad_ok: largest error "), ok.out());

        gradCase(root, "grad_tampered", true);
        Result both = conform(root.toString());
        assertEquals(1, both.status(), both.out());
        assertTrue(both.out().contains("FAIL grad_tampered: dScale[2] is "), both.out());
        assertTrue(both.out().contains("dScale[2]"), both.out());
        assertTrue(both.out().contains("1 passed, 1 failed, 0 errors, 0 skipped"), both.out());
    }

    private static void writeCase(Path dir, String json) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("case.json"), json);
    }

    @Test
    void brokenCasesAreErrorsAndTheRunGoesOn(@TempDir Path root) throws Exception {
        writeCase(root.resolve("a_broken_json"), "{\"op\": \"BatchNormalization\", ");
        writeCase(root.resolve("b_missing_tensor"), """
                {"op": "BatchNormalization", "attributes": {}, "inputs": ["x", "s", "b", "m", "v"],
                 "outputs": ["y"]}""");
        Files.createDirectories(root.resolve("c_no_case_json"));
        // Scale has 2 entries for 3 channels: the engine rejects the inputs before computing anything.
        Path rejected = root.resolve("d_rejected");
        writeCase(rejected, """
                {"op": "BatchNormalization", "attributes": {}, "inputs": ["x", "s", "b", "m", "v"],
                 "outputs": ["y"]}""");
        Npy.writeFloat32(rejected.resolve("in_x.npy"), new int[] {2, 3, 2}, new float[12]);
        Npy.writeFloat32(rejected.resolve("in_s.npy"), new int[] {2}, new float[] {1, 1});
        for (String name : List.of("b", "m", "v")) {
            Npy.writeFloat32(rejected.resolve("in_" + name + ".npy"), new int[] {3}, new float[] {0, 0, 1});
        }
        Npy.writeFloat32(rejected.resolve("out_y.npy"), new int[] {2, 3, 2}, new float[12]);
        gradCase(root, "e_good", false);

        Result r = conform(root.toString());
        assertEquals(1, r.status(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(6, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("ERROR a_broken_json: case.json cannot be read: "), lines.get(0));
        assertEquals("ERROR b_missing_tensor: missing in_x.npy", lines.get(1));
        assertEquals("ERROR c_no_case_json: no case.json", lines.get(2));
        assertTrue(lines.get(3).startsWith("ERROR d_rejected: vecnorm rejected the inputs: "), lines.get(3));
        assertTrue(lines.get(3).contains("gamma"), lines.get(3));
        assertFalse(r.out().contains("NaN"), r.out());
        assertTrue(lines.get(4).startsWith("PASS e_good: "), lines.get(4));
        assertEquals("1 passed, 0 failed, 4 errors, 0 skipped", lines.get(5));
    }

    @Test
    void usageErrorsPrintTheUsageAndExitTwo(@TempDir Path root) throws Exception {
        for (String[] args : new String[][] {{"--rtol"}, {"--atol", "abc"}, {root.resolve("nowhere").toString()},
                {"--bogus", root.toString()}, {root.toString()}}) {
            Result r = conform(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.out() + r.err());
            assertTrue(r.err().startsWith("conform: "), r.err());
            assertFalse(r.err().contains("conform: conform"), r.err());
            assertTrue(r.err().contains("usage: ./vecnorm conform "), r.err());
            assertTrue(r.out().isEmpty(), r.out());
        }
        assertTrue(conform("--atol", "abc").err().startsWith("conform: --atol needs a number, got 'abc'\n"));
        assertTrue(conform(root.toString()).err().startsWith("conform: " + root + " has no case.json and no case "
                + "folders\n"));
    }
}
