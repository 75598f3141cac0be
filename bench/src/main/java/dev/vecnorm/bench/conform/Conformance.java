package dev.vecnorm.bench.conform;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.GroupNormOps;
import dev.vecnorm.LayerNormOps;
import dev.vecnorm.RMSNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.RunningStats;
import dev.vecnorm.bench.Json;
import dev.vecnorm.io.Npy;
import dev.vecnorm.io.Npy.NpyArray;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Runs ONNX-style node test cases (a folder with case.json, in_NAME.npy and out_NAME.npy, see the conformance
 * MANIFEST.md) through the engine and compares every output with {@code |got - expected| <= atol + rtol*|expected|}.
 * Inputs bind to operator parameters by position. Implemented ops: BatchNormalization (opset 15: inference and
 * training_mode) and BatchNormalizationGrad (dY, X, scale, saved_mean, saved_inv_std to dX, dScale, dBias).
 *
 * <p>A case that cannot be read, or whose inputs the engine rejects, is an ERROR with the reason; the run goes on
 * with the next case.
 */
public final class Conformance {

    /** ONNX's own test tolerances. */
    public static final double DEFAULT_RTOL = 1e-3;
    public static final double DEFAULT_ATOL = 1e-7;

    public enum Status { PASS, FAIL, ERROR, SKIP }

    /** How much of the run is printed: every case, every case but skips, or only failures and errors. */
    public enum Verbosity { VERBOSE, DEFAULT, QUIET }

    /**
     * What one case gave.
     *
     * @param maxAbsError largest |got - expected| over all outputs (PASS and FAIL only)
     * @param worstFraction largest |got - expected| / (atol + rtol*|expected|): 1 is the limit (PASS and FAIL)
     * @param detail for FAIL the worst element, for ERROR the reason, for SKIP the operator
     */
    public record Outcome(String name, Status status, String op, double maxAbsError, double worstFraction,
            String detail) {

        static Outcome error(String name, String op, String reason) {
            return new Outcome(name, Status.ERROR, op, Double.NaN, Double.NaN, reason);
        }

        /** The one line the command prints for this case. */
        public String line() {
            return switch (status) {
                case PASS -> worstFraction < 1e-4
                        ? String.format(Locale.ROOT,
                                "PASS %s: largest error %.2g; every element within 0.01%% of its allowed error", name,
                                maxAbsError)
                        : String.format(Locale.ROOT,
                                "PASS %s: largest error %.2g; no element uses more than %s of its allowed error",
                                name, maxAbsError, percent(worstFraction));
                case FAIL -> String.format(Locale.ROOT, "FAIL %s: %s (%.3g times the allowed error)",
                        name, detail, worstFraction);
                case ERROR -> "ERROR " + name + ": " + detail;
                case SKIP -> "SKIP " + name + ": " + op + " is not implemented";
            };
        }

        private static String percent(double fraction) {
            double p = 100 * fraction;
            return String.format(Locale.ROOT, "%.2g%%", p);
        }
    }

    private final double atol;
    private final double rtol;
    private final BatchNormOps ops;
    private final GroupNormOps groupOps = GroupNormOps.get();
    private final Layout layout;

    public Conformance(double atol, double rtol, BatchNormOps ops) {
        this(atol, rtol, ops, Layout.CHANNELS_FIRST);
    }

    /**
     * Runs the cases in {@code layout}: with {@link Layout#CHANNELS_LAST} the runner transposes each case's
     * (N, C, spatial...) tensors to channels-last, runs vecnorm on them, and transposes the outputs back, so the
     * ONNX cases test the channels-last path.
     */
    public Conformance(double atol, double rtol, BatchNormOps ops, Layout layout) {
        if (!(atol >= 0) || !(rtol >= 0)) {
            throw new IllegalArgumentException("tolerances must be >= 0, got atol=" + atol + " rtol=" + rtol);
        }
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        this.atol = atol;
        this.rtol = rtol;
        this.ops = ops;
        this.layout = layout;
    }

    /**
     * A channels-first tensor of {@code shape} in channels-last order ({@code toLast}), or back. Rank 2 is the
     * same in both layouts.
     */
    static float[] transpose(int[] shape, float[] data, boolean toLast) {
        int n = shape[0];
        int c = shape[1];
        int s = data.length / Math.max(1, n * c);
        float[] out = new float[data.length];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                for (int j = 0; j < s; j++) {
                    int first = (i * c + ch) * s + j;
                    int last = (i * s + j) * c + ch;
                    if (toLast) {
                        out[last] = data[first];
                    } else {
                        out[first] = data[last];
                    }
                }
            }
        }
        return out;
    }

    private boolean last() {
        return layout == Layout.CHANNELS_LAST;
    }

    /**
     * Case folders: each DIR that holds case.json, else its sub-folders, sorted by name. A sub-folder without
     * case.json is still returned (it is reported as an ERROR when run), so a broken case is not silently lost.
     *
     * @throws IllegalArgumentException when a DIR is not a readable folder or holds no case at all
     */
    public static List<Path> discover(List<Path> dirs) {
        List<Path> cases = new ArrayList<>();
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException(dir + " is not a folder");
            }
            if (Files.exists(dir.resolve("case.json"))) {
                cases.add(dir);
                continue;
            }
            try (Stream<Path> children = Files.list(dir)) {
                List<Path> found = children.filter(Files::isDirectory).sorted().toList();
                if (found.isEmpty()) {
                    throw new IllegalArgumentException(dir + " has no case.json and no case folders");
                }
                cases.addAll(found);
            } catch (IOException e) {
                throw new IllegalArgumentException(dir + " cannot be listed (" + e.getMessage() + ")");
            }
        }
        return cases;
    }

    /**
     * Runs all cases under the given folders, printing one line per case (as {@code verbosity} allows) and the
     * summary line.
     *
     * @return the exit status: 0 when no case failed or had an error (skips allowed), else 1
     * @throws IllegalArgumentException when a folder holds no cases (see {@link #discover})
     */
    public int runAll(List<Path> dirs, Verbosity verbosity, PrintStream out) {
        int[] counts = new int[Status.values().length];
        Map<String, Integer> skippedOps = new TreeMap<>();
        for (Path dir : discover(dirs)) {
            Outcome o = run(dir);
            counts[o.status().ordinal()]++;
            if (o.status() == Status.SKIP) {
                skippedOps.merge(o.op(), 1, Integer::sum);
            }
            boolean show = switch (verbosity) {
                case VERBOSE -> true;
                case DEFAULT -> o.status() != Status.SKIP;
                case QUIET -> o.status() == Status.FAIL || o.status() == Status.ERROR;
            };
            if (show) {
                out.println(o.line());
            }
        }
        int skipped = counts[Status.SKIP.ordinal()];
        StringBuilder summary = new StringBuilder().append(counts[Status.PASS.ordinal()]).append(" passed, ")
                .append(counts[Status.FAIL.ordinal()]).append(" failed, ")
                .append(counts[Status.ERROR.ordinal()]).append(" errors, ")
                .append(skipped).append(" skipped");
        if (skipped > 0) {
            StringBuilder ops = new StringBuilder();
            skippedOps.forEach((op, n) -> ops.append(ops.isEmpty() ? "" : ", ").append(op).append(' ').append(n));
            summary.append(" (not implemented: ").append(ops).append(')');
            if (verbosity != Verbosity.VERBOSE) {
                summary.append("; --verbose lists them");
            }
        }
        out.println(summary);
        return counts[Status.FAIL.ordinal()] + counts[Status.ERROR.ordinal()] > 0 ? 1 : 0;
    }

    /** Runs one case folder; never throws for a bad case, it returns an ERROR outcome instead. */
    @SuppressWarnings("unchecked")
    public Outcome run(Path dir) {
        String name = dir.getFileName().toString();
        Map<String, Object> spec;
        try {
            spec = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")));
        } catch (NoSuchFileException e) {
            return Outcome.error(name, "?", "no case.json");
        } catch (IOException | RuntimeException e) {
            return Outcome.error(name, "?", "case.json cannot be read: " + e.getMessage());
        }
        String op = String.valueOf(spec.get("op"));
        Map<String, Object> attributes = spec.get("attributes") instanceof Map<?, ?> m
                ? (Map<String, Object>) m : Map.of();
        if (!(spec.get("inputs") instanceof List<?> inputList) || !(spec.get("outputs") instanceof List<?> outList)) {
            return Outcome.error(name, op, "case.json has no 'inputs' or no 'outputs' list");
        }
        List<String> inputs = inputList.stream().map(String::valueOf).toList();
        List<String> outputs = outList.stream().map(String::valueOf).toList();
        boolean groups = op.equals("GroupNormalization") || op.equals("InstanceNormalization");
        boolean rows = op.equals("LayerNormalization") || op.equals("RMSNormalization");
        boolean implemented = groups || rows || op.equals("BatchNormalization")
                || op.equals("BatchNormalizationGrad");
        if (!implemented) {
            return new Outcome(name, Status.SKIP, op, 0, 0, "");
        }
        int needed = switch (op) {
            case "BatchNormalization", "BatchNormalizationGrad" -> 5;
            case "GroupNormalization", "InstanceNormalization" -> 3;
            default -> 2;
        };
        if (inputs.size() < needed) {
            return Outcome.error(name, op, "case.json lists " + inputs.size() + " inputs " + inputs + ", " + op
                    + " takes " + needed);
        }
        try {
            return switch (op) {
                case "BatchNormalization" -> batchNormalization(name, dir, attributes, inputs, outputs);
                case "BatchNormalizationGrad" -> batchNormalizationGrad(name, dir, inputs, outputs);
                case "GroupNormalization", "InstanceNormalization" ->
                        groupNormalization(name, op, dir, attributes, inputs, outputs);
                default -> rowNormalization(name, op, dir, attributes, inputs, outputs);
            };
        } catch (NoSuchFileException e) {
            return Outcome.error(name, op, "missing " + Path.of(e.getFile()).getFileName());
        } catch (IOException e) {
            return Outcome.error(name, op, e.getMessage());
        } catch (IllegalArgumentException e) {
            return Outcome.error(name, op, "vecnorm rejected the inputs: " + e.getMessage());
        }
    }

    private Outcome batchNormalization(String name, Path dir, Map<String, Object> attributes, List<String> inputs,
            List<String> outputs) throws IOException {
        NpyArray x = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] scale = read(dir, inputs.get(1));
        float[] bias = read(dir, inputs.get(2));
        float[] mean = read(dir, inputs.get(3));
        float[] var = read(dir, inputs.get(4));
        // Attributes are float32 in the model: round the JSON decimal the same way.
        double eps = (float) number(attributes, "epsilon", 1e-5);
        double momentum = (float) number(attributes, "momentum", 0.9);
        boolean training = number(attributes, "training_mode", 0) != 0;
        float[] xs = last() ? transpose(x.shape(), x.toFloats(), true) : x.toFloats();
        float[] y = new float[xs.length];
        List<float[]> got = new ArrayList<>();
        if (training) {
            float[] runMean = mean.clone();
            float[] runVar = var.clone();
            ops.forwardTraining(layout, x.shape(), xs, 0, y, 0, scale, bias, eps, null, null,
                    RunningStats.onnx(runMean, runVar, momentum));
            got.addAll(List.of(last() ? transpose(x.shape(), y, false) : y, runMean, runVar));
        } else {
            ops.forwardInference(layout, x.shape(), xs, 0, y, 0, scale, bias, mean, var, eps);
            got.add(last() ? transpose(x.shape(), y, false) : y);
        }
        return compare(name, "BatchNormalization", dir, outputs, got);
    }

    /**
     * GroupNormalization (opset 21: scale and bias per channel) and InstanceNormalization (one group per
     * channel), through {@link GroupNormOps}; channels-first only.
     */
    private Outcome groupNormalization(String name, String op, Path dir, Map<String, Object> attributes,
            List<String> inputs, List<String> outputs) throws IOException {
        NpyArray x = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] scale = read(dir, inputs.get(1));
        float[] bias = read(dir, inputs.get(2));
        double eps = (float) number(attributes, "epsilon", 1e-5);
        int[] shape = x.shape();
        if (shape.length < 2) {
            return Outcome.error(name, op, "x has rank " + shape.length + ", needs (N, C, ...)");
        }
        int groups = op.equals("InstanceNormalization") ? shape[1] : (int) number(attributes, "num_groups", -1);
        float[] xs = x.toFloats();
        float[] y = new float[xs.length];
        groupOps.forward(shape, groups, xs, 0, y, 0, scale, bias, eps, null, null);
        return compare(name, op, dir, outputs, List.of(y));
    }

    /**
     * LayerNormalization-17 (outputs Y, Mean, InvStdDev) and RMSNormalization-23 (output Y) over the dimensions
     * from {@code axis} on, through {@link LayerNormOps} and {@link RMSNormOps}.
     */
    private Outcome rowNormalization(String name, String op, Path dir, Map<String, Object> attributes,
            List<String> inputs, List<String> outputs) throws IOException {
        NpyArray x = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] scale = read(dir, inputs.get(1));
        float[] bias = inputs.size() > 2 && !inputs.get(2).isEmpty() ? read(dir, inputs.get(2)) : null;
        double eps = (float) number(attributes, "epsilon", 1e-5);
        int axis = (int) number(attributes, "axis", -1);
        int[] shape = x.shape();
        float[] xs = x.toFloats();
        float[] y = new float[xs.length];
        if (op.equals("RMSNormalization")) {
            RMSNormOps.get().forward(shape, axis, xs, 0, y, 0, scale, eps, null);
            return compare(name, op, dir, outputs, List.of(y));
        }
        int a = axis < 0 ? axis + shape.length : axis;
        int rowCount = 1;
        for (int k = 0; k < Math.max(0, Math.min(a, shape.length)); k++) {
            rowCount *= shape[k];
        }
        float[] mean = new float[rowCount];
        float[] invStd = new float[rowCount];
        LayerNormOps.get().forward(shape, axis, xs, 0, y, 0, scale, bias, eps, mean, invStd);
        return compare(name, op, dir, outputs, List.of(y, mean, invStd));
    }

    private Outcome batchNormalizationGrad(String name, Path dir, List<String> inputs, List<String> outputs)
            throws IOException {
        NpyArray dy = Npy.read(dir.resolve("in_" + inputs.get(0) + ".npy"));
        float[] x = read(dir, inputs.get(1));
        float[] scale = read(dir, inputs.get(2));
        float[] savedMean = read(dir, inputs.get(3));
        float[] savedInvStd = read(dir, inputs.get(4));
        float[] dys = last() ? transpose(dy.shape(), dy.toFloats(), true) : dy.toFloats();
        float[] xs = last() ? transpose(dy.shape(), x, true) : x;
        float[] dx = new float[dys.length];
        float[] dScale = new float[scale.length];
        float[] dBias = new float[scale.length];
        ops.backward(layout, dy.shape(), dys, 0, xs, 0, scale, savedMean, savedInvStd, dx, 0, dScale, dBias);
        return compare(name, "BatchNormalizationGrad", dir, outputs,
                List.of(last() ? transpose(dy.shape(), dx, false) : dx, dScale, dBias));
    }

    /** Compares the produced outputs, by position, with every expected output the case lists. */
    private Outcome compare(String name, String op, Path dir, List<String> outputs, List<float[]> got)
            throws IOException {
        if (outputs.size() > got.size()) {
            return Outcome.error(name, op, "the case expects " + outputs.size() + " outputs, " + op
                    + " here produces " + got.size());
        }
        double maxAbs = 0;
        double worst = 0;
        String detail = "";
        for (int k = 0; k < outputs.size(); k++) {
            double[] expected = Npy.read(dir.resolve("out_" + outputs.get(k) + ".npy")).values();
            float[] actual = got.get(k);
            if (expected.length != actual.length) {
                return Outcome.error(name, op, "out_" + outputs.get(k) + ".npy has " + expected.length
                        + " elements, the inputs give " + actual.length);
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
                    detail = outputs.get(k) + "[" + i + "] is " + a + ", expected " + e;
                }
            }
        }
        Status status = worst <= 1.0 ? Status.PASS : Status.FAIL;
        return new Outcome(name, status, op, maxAbs, worst, status == Status.FAIL ? detail : "");
    }

    private static float[] read(Path dir, String tensor) throws IOException {
        return Npy.read(dir.resolve("in_" + tensor + ".npy")).toFloats();
    }

    private static double number(Map<String, Object> attributes, String key, double fallback) {
        return attributes.get(key) instanceof Number n ? n.doubleValue() : fallback;
    }
}
