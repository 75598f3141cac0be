package dev.vecnorm.bench.conform;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.bench.Json;
import dev.vecnorm.RunningStats;
import dev.vecnorm.io.Npy;
import dev.vecnorm.io.Npy.NpyArray;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs ONNX-style node test cases (a folder with case.json, in_NAME.npy and out_NAME.npy, see the conformance
 * MANIFEST.md) through the engine and compares every output with {@code |got - expected| <= atol + rtol*|expected|}.
 * Inputs bind to operator parameters by position. Implemented ops: BatchNormalization (opset 15: inference and
 * training_mode) and BatchNormalizationGrad (dY, X, scale, saved_mean, saved_inv_std to dX, dScale, dBias).
 */
public final class Conformance {

    /** ONNX's own test tolerances. */
    public static final double DEFAULT_RTOL = 1e-3;
    public static final double DEFAULT_ATOL = 1e-7;

    public enum Status { PASS, FAIL, SKIP }

    /** What one case gave; for FAIL and SKIP, {@code detail} says why. */
    public record Outcome(String name, Status status, String op, double maxAbsError, double worstFraction,
            String detail) {
        /** The one line the command prints for this case. */
        public String line() {
            return switch (status) {
                case PASS -> String.format(Locale.ROOT, "PASS %s max_abs_err=%.3g worst=%.3g of tolerance",
                        name, maxAbsError, worstFraction);
                case FAIL -> String.format(Locale.ROOT, "FAIL %s max_abs_err=%.3g worst=%.3g of tolerance%s",
                        name, maxAbsError, worstFraction, detail.isEmpty() ? "" : " (" + detail + ")");
                case SKIP -> "SKIP " + name + " (" + op + ": not implemented)";
            };
        }
    }

    /** A case folder that cannot be read: missing or malformed case.json or tensors. */
    public static final class UnreadableCaseException extends Exception {
        UnreadableCaseException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final double atol;
    private final double rtol;
    private final BatchNormOps ops;

    public Conformance(double atol, double rtol, BatchNormOps ops) {
        if (!(atol >= 0) || !(rtol >= 0)) {
            throw new IllegalArgumentException("tolerances must be >= 0, got atol=" + atol + " rtol=" + rtol);
        }
        this.atol = atol;
        this.rtol = rtol;
        this.ops = ops;
    }

    /** Case folders: each DIR that holds case.json, else its sub-folders that do, sorted by name. */
    public static List<Path> discover(List<Path> dirs) throws UnreadableCaseException {
        List<Path> cases = new ArrayList<>();
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                throw new UnreadableCaseException(dir + ": not a directory", null);
            }
            if (Files.isRegularFile(dir.resolve("case.json"))) {
                cases.add(dir);
                continue;
            }
            try (Stream<Path> children = Files.list(dir)) {
                List<Path> found = children.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().toList();
                if (found.isEmpty()) {
                    throw new UnreadableCaseException(dir + ": no case.json in it or in its sub-folders", null);
                }
                cases.addAll(found);
            } catch (IOException e) {
                throw new UnreadableCaseException(dir + ": " + e.getMessage(), e);
            }
        }
        return cases;
    }

    /**
     * Runs all cases under the given folders, printing one line per case and the summary line.
     *
     * @return the exit status: 0 all passed (skips allowed), 1 some failed
     */
    public int runAll(List<Path> dirs, PrintStream out) throws UnreadableCaseException {
        int passed = 0;
        int failed = 0;
        int skipped = 0;
        for (Path dir : discover(dirs)) {
            Outcome o = run(dir);
            out.println(o.line());
            switch (o.status()) {
                case PASS -> passed++;
                case FAIL -> failed++;
                case SKIP -> skipped++;
            }
        }
        out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        return failed > 0 ? 1 : 0;
    }

    /** Runs one case folder. */
    @SuppressWarnings("unchecked")
    public Outcome run(Path dir) throws UnreadableCaseException {
        String name = dir.getFileName().toString();
        Map<String, Object> spec;
        try {
            spec = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")));
        } catch (IOException | RuntimeException e) {
            throw new UnreadableCaseException(dir + "/case.json: " + e.getMessage(), e);
        }
        String op = String.valueOf(spec.get("op"));
        Map<String, Object> attributes = spec.get("attributes") instanceof Map<?, ?> m
                ? (Map<String, Object>) m : Map.of();
        List<String> inputs = names(spec, "inputs", dir);
        List<String> outputs = names(spec, "outputs", dir);
        try {
            return switch (op) {
                case "BatchNormalization" -> batchNormalization(name, dir, attributes, inputs, outputs);
                case "BatchNormalizationGrad" -> batchNormalizationGrad(name, dir, inputs, outputs);
                default -> new Outcome(name, Status.SKIP, op, 0, 0, "");
            };
        } catch (IOException e) {
            throw new UnreadableCaseException(dir + ": " + e.getMessage(), e);
        }
    }

    private Outcome batchNormalization(String name, Path dir, Map<String, Object> attributes, List<String> inputs,
            List<String> outputs) throws IOException, UnreadableCaseException {
        requireCount(dir, "inputs", inputs, 5);
        NpyArray x = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] scale = read(dir, "in_", inputs.get(1));
        float[] bias = read(dir, "in_", inputs.get(2));
        float[] mean = read(dir, "in_", inputs.get(3));
        float[] var = read(dir, "in_", inputs.get(4));
        // Attributes are float32 in the model: round the JSON decimal the same way.
        double eps = (float) number(attributes, "epsilon", 1e-5);
        double momentum = (float) number(attributes, "momentum", 0.9);
        boolean training = number(attributes, "training_mode", 0) != 0;
        float[] xs = x.toFloats();
        float[] y = new float[xs.length];
        List<float[]> got = new ArrayList<>();
        try {
            if (training) {
                float[] runMean = mean.clone();
                float[] runVar = var.clone();
                ops.forwardTraining(x.shape(), xs, 0, y, 0, scale, bias, eps, null, null,
                        RunningStats.onnx(runMean, runVar, momentum));
                got.addAll(List.of(y, runMean, runVar));
            } else {
                ops.forwardInference(x.shape(), xs, 0, y, 0, scale, bias, mean, var, eps);
                got.add(y);
            }
        } catch (IllegalArgumentException e) {
            return new Outcome(name, Status.FAIL, "BatchNormalization", Double.NaN, Double.NaN, e.getMessage());
        }
        return compare(name, "BatchNormalization", dir, outputs, got);
    }

    private Outcome batchNormalizationGrad(String name, Path dir, List<String> inputs, List<String> outputs)
            throws IOException, UnreadableCaseException {
        requireCount(dir, "inputs", inputs, 5);
        NpyArray dy = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] x = read(dir, "in_", inputs.get(1));
        float[] scale = read(dir, "in_", inputs.get(2));
        float[] savedMean = read(dir, "in_", inputs.get(3));
        float[] savedInvStd = read(dir, "in_", inputs.get(4));
        float[] dys = dy.toFloats();
        float[] dx = new float[dys.length];
        float[] dScale = new float[scale.length];
        float[] dBias = new float[scale.length];
        try {
            ops.backward(dy.shape(), dys, 0, x, 0, scale, savedMean, savedInvStd, dx, 0, dScale, dBias);
        } catch (IllegalArgumentException e) {
            return new Outcome(name, Status.FAIL, "BatchNormalizationGrad", Double.NaN, Double.NaN, e.getMessage());
        }
        return compare(name, "BatchNormalizationGrad", dir, outputs, List.of(dx, dScale, dBias));
    }

    /** Compares the produced outputs, by position, with every expected output the case lists. */
    private Outcome compare(String name, String op, Path dir, List<String> outputs, List<float[]> got)
            throws IOException, UnreadableCaseException {
        if (outputs.size() > got.size()) {
            return new Outcome(name, Status.FAIL, op, Double.NaN, Double.NaN,
                    "case expects " + outputs.size() + " outputs, " + op + " here produces " + got.size());
        }
        double maxAbs = 0;
        double worst = 0;
        String detail = "";
        for (int k = 0; k < outputs.size(); k++) {
            double[] expected = Npy.read(dir.resolve("out_" + outputs.get(k) + ".npy")).values();
            float[] actual = got.get(k);
            if (expected.length != actual.length) {
                return new Outcome(name, Status.FAIL, op, Double.NaN, Double.NaN, outputs.get(k) + " has "
                        + actual.length + " elements, expected " + expected.length);
            }
            for (int i = 0; i < expected.length; i++) {
                double e = expected[i];
                double a = actual[i];
                if (Double.isNaN(e) && Double.isNaN(a)) {
                    continue;
                }
                double err = Math.abs(a - e);
                double fraction = err / (atol + rtol * Math.abs(e));
                if (Double.isNaN(err)) {
                    err = Double.POSITIVE_INFINITY;
                    fraction = Double.POSITIVE_INFINITY;
                }
                maxAbs = Math.max(maxAbs, err);
                if (fraction > worst) {
                    worst = fraction;
                    detail = "worst at " + outputs.get(k) + "[" + i + "]: got " + a + ", expected " + e;
                }
            }
        }
        Status status = worst <= 1.0 ? Status.PASS : Status.FAIL;
        return new Outcome(name, status, op, maxAbs, worst, status == Status.FAIL ? detail : "");
    }

    private static float[] read(Path dir, String prefix, String tensor) throws IOException {
        return Npy.read(dir.resolve(prefix + tensor + ".npy")).toFloats();
    }

    private static double number(Map<String, Object> attributes, String key, double fallback) {
        return attributes.get(key) instanceof Number n ? n.doubleValue() : fallback;
    }

    private static List<String> names(Map<String, Object> spec, String key, Path dir) throws UnreadableCaseException {
        if (!(spec.get(key) instanceof List<?> list)) {
            throw new UnreadableCaseException(dir + "/case.json: no '" + key + "' list", null);
        }
        return list.stream().map(String::valueOf).toList();
    }

    private static void requireCount(Path dir, String what, List<String> names, int count)
            throws UnreadableCaseException {
        if (names.size() < count) {
            throw new UnreadableCaseException(dir + ": " + what + " " + names + " has fewer than " + count
                    + " entries", null);
        }
    }
}
