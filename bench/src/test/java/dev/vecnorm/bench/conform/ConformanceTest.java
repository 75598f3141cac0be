package dev.vecnorm.bench.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    void everyOnnxBatchNormalizationCasePasses() throws Exception {
        Result r = conform(onnxCases().toString());
        assertEquals(0, r.status(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        for (String c : List.of("test_batchnorm_epsilon", "test_batchnorm_epsilon_training_mode",
                "test_batchnorm_example", "test_batchnorm_example_training_mode")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("PASS " + c + " ")), c + " in\n" + r.out());
        }
        assertTrue(lines.contains("SKIP test_instancenorm_example (InstanceNormalization: not implemented)"),
                r.out());
        assertEquals("4 passed, 0 failed, 1 skipped", lines.get(lines.size() - 1));
    }

    @Test
    void tighterToleranceThanFloat32CanMeetFails() throws Exception {
        Result r = conform("--rtol", "0", "--atol", "0", onnxCases().resolve("test_batchnorm_epsilon").toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().startsWith("FAIL test_batchnorm_epsilon "), r.out());
        assertTrue(r.out().contains("0 passed, 1 failed, 0 skipped"), r.out());
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
        assertTrue(ok.out().startsWith("PASS grad_ok "), ok.out());

        gradCase(root, "grad_tampered", true);
        Result both = conform(root.toString());
        assertEquals(1, both.status(), both.out());
        assertTrue(both.out().contains("FAIL grad_tampered "), both.out());
        assertTrue(both.out().contains("dScale[2]"), both.out());
        assertTrue(both.out().contains("1 passed, 1 failed, 0 skipped"), both.out());
    }

    @Test
    void unreadableCasesAndUsageErrorsExitTwo(@TempDir Path root) throws Exception {
        Path broken = Files.createDirectories(root.resolve("broken"));
        Files.writeString(broken.resolve("case.json"), "{\"op\": \"BatchNormalization\", ");
        Result r = conform(broken.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unreadable case") && r.err().contains("case.json"), r.err());

        Path missing = Files.createDirectories(root.resolve("missing"));
        Files.writeString(missing.resolve("case.json"), """
                {"op": "BatchNormalization", "attributes": {}, "inputs": ["x", "s", "b", "m", "v"],
                 "outputs": ["y"]}""");
        r = conform(missing.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("in_x.npy"), r.err());

        assertEquals(2, conform().status());
        assertEquals(2, conform("--rtol").status());
        assertEquals(2, conform(root.resolve("nowhere").toString()).status());
        assertEquals(2, conform("--bogus", root.toString()).status());
    }
}
