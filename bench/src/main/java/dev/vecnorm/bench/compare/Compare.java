package dev.vecnorm.bench.compare;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.NcsShape;
import dev.vecnorm.RunningStats;
import dev.vecnorm.bench.Floor;
import dev.vecnorm.bench.PlainJavaBatchNorm;
import dev.vecnorm.internal.kernels.Kernels;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;
import java.util.function.DoubleSupplier;

/**
 * {@code vecnorm.jar compare [--quick] [--threads T] [--out DIR] [--ops LIST] [--shapes AxBx..,...]}: times every
 * implementation on DESIGN.md's shapes, single run, self-checking (each output against float64), against a
 * same-run streaming floor and against PyTorch when it is installed; prints a table per shape and writes
 * compare.md, compare.csv and one chart per op to DIR. {@code --ops} adds the family suites ({@link Suite},
 * measured by {@link FamilyCompare}): a section of compare.md, a CSV and a chart each.
 */
public final class Compare {

    static final List<String> SHAPES = Suite.BATCHNORM.defaultShapes;
    static final String FLOOR = "floor (streaming a*x+b)";
    static final String SCALAR = "vecnorm scalar reference";
    static final String PLAIN = "plain Java loop";
    static final String VECTOR = "vecnorm Vector API";

    static final String USAGE = """
            usage: ./vecnorm compare [--quick] [--threads T] [--out DIR] [--ops LIST] [--shapes SHAPE,...]
              Times training, inference and backward of every implementation on each shape, against a same-run
              streaming floor and the peers (PyTorch if python3-torch is installed, ONNX Runtime in this JVM),
              checks every output against float64 and prints a table per shape; --ops adds the family.
              --quick      short measurements (under two minutes on 2 cores); default: longer, steadier ones
              --threads T  threads for vecnorm, the floor and the peers, default 1
              --out DIR    where compare.md, compare.csv and the charts go, default compare-results
              --ops LIST   comma-separated suites, default batchnorm; each on its default shapes (below):
            %s
              --shapes     comma-separated shapes for every suite listed instead of its own; batchnorm's
                           default %s
              Exit status: 0 all checks passed, 1 an output was off float64, 2 usage.
            """.formatted(suiteList(), String.join(",", SHAPES));

    private Compare() {
    }

    private static String suiteList() {
        StringBuilder b = new StringBuilder();
        for (Suite suite : Suite.values()) {
            b.append(String.format(Locale.ROOT, "               %-14s %s%n", suite.label, suite.title));
            b.append(String.format(Locale.ROOT, "               %-14s %s%n", "",
                    suite == Suite.BATCHNORM ? "see --shapes; ONNX Runtime is a peer of this suite only"
                            : String.join(",", suite.defaultShapes)));
        }
        return b.toString().stripTrailing();
    }

    /**
     * How a run measures: the command's (timer from --quick, peers, kernel warm-up) or a test's (one call per
     * measurement, no peers, no warm-up), through the same code otherwise.
     *
     * @param timer null: the command's timer for --quick or not
     */
    record Settings(Timer timer, boolean peers, boolean warmUp) {
        static final Settings COMMAND = new Settings(null, true, true);
    }

    /** Runs the command; returns the exit status (0 ok, 1 a self-check failed, 2 usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        return run(args, out, err, Settings.COMMAND);
    }

    static int run(String[] args, PrintStream out, PrintStream err, Settings settings) throws IOException {
        boolean quick = false;
        int threads = 1;
        Path dir = Path.of("compare-results");
        List<String> shapes = null;
        List<Suite> suites = List.of(Suite.BATCHNORM);
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "-h", "--help" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    case "--quick" -> quick = true;
                    case "--threads" -> threads = integer(next(args, ++i, "--threads"), "--threads");
                    case "--out" -> dir = Path.of(next(args, ++i, "--out"));
                    case "--shapes" -> shapes = List.of(next(args, ++i, "--shapes").split(","));
                    case "--ops" -> suites = Suite.parseList(next(args, ++i, "--ops"));
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (threads < 1) {
                throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
            }
            for (Suite suite : suites) {
                for (String s : shapes == null ? suite.defaultShapes : shapes) {
                    suite.validate(s, parse(s));
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("compare: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (Kernels.vector().isEmpty()) {
            err.println("compare: the Vector API kernels cannot run: " + Kernels.vectorUnavailableReason().orElse(""));
            return 2;
        }
        Files.createDirectories(dir);
        Timer timer = settings.timer() != null ? settings.timer()
                : quick ? new Timer(2, 0.25, 3, 0.05, 1.5) : new Timer(5, 1.5, 10, 1.0, 4.0);
        out.println("vecnorm compare" + (quick ? " --quick" : "") + ": " + Environment.describe(threads));
        boolean ok = true;
        List<Row> rows = null;
        PyTorchPeer torch = null;
        if (suites.contains(Suite.BATCHNORM)) {
            rows = new ArrayList<>();
            torch = settings.peers() ? PyTorchPeer.run(shapes == null ? SHAPES : shapes, threads, quick, dir, out)
                    : null;
            ok = batchNorm(shapes == null ? SHAPES : shapes, timer, torch, threads, quick, settings, rows, out, err);
        }
        List<Suite> family = suites.stream().filter(s -> s != Suite.BATCHNORM).toList();
        List<FamilyCompare.Result> results = new ArrayList<>();
        PyTorchPeer familyTorch = null;
        if (!family.isEmpty()) {
            List<String> keys = new ArrayList<>();
            for (Suite suite : family) {
                FamilyCompare.cases(suite, shapes).forEach(c -> keys.add(c.key()));
            }
            familyTorch = settings.peers() ? PyTorchPeer.runFamily(keys, threads, quick, dir, out) : null;
            if (settings.warmUp()) {
                FamilyCompare.warmUp(family, quick ? 1.5 : 4.0);
            }
            out.println();
            out.println("Columns (family suites): ms = median time per call; GB/s = minimal DRAM traffic (8 B/elem "
                    + "forward, training and inference; 12 B/elem backward and inference+add+relu) / time; % of floor "
                    + "= floor time / time (floor: the best call of same-run streaming kernels moving those bytes, "
                    + "timed before and after the implementations; a figure over 105% of it is flagged as a bad "
                    + "floor); vs scalar ref, vs PyTorch = time ratios (> 1: faster); max error = largest "
                    + "|got - float64| / (1 + |float64|) (bar 1e-5); vs BN alone (fused) = time / the same "
                    + "implementation's plain-BatchNorm time in this run, - 1.");
            for (Suite suite : family) {
                FamilyCompare.Result result = family(suite, shapes, timer, familyTorch, threads, out, err);
                results.add(result);
                ok &= selfCheck(suite.label, result.rows(), out);
            }
        }
        Report.write(rows, results, dir, quick, threads, torch, familyTorch);
        List<String> tables = new ArrayList<>(List.of("compare.md"));
        List<String> charts = new ArrayList<>();
        if (rows != null) {
            tables.add("compare.csv");
            rows.stream().map(r -> "compare-" + r.op().label + ".png").distinct().forEach(charts::add);
        }
        for (Suite suite : family) {
            tables.add(Report.csvName(suite));
            charts.add(Report.chartName(suite));
        }
        Path written = dir;
        out.println("wrote " + String.join(", ", tables.stream().map(t -> written.resolve(t).toString()).toList())
                + " and " + String.join(", ", charts.stream().map(c -> written.resolve(c).toString()).toList()));
        return ok ? 0 : 1;
    }

    /** The BatchNorm (NCHW) suite, as compare has always run it: prints its tables and self-check line. */
    private static boolean batchNorm(List<String> shapes, Timer timer, PyTorchPeer torch, int threads, boolean quick,
            Settings settings, List<Row> rows, PrintStream out, PrintStream err) {
        String ort = settings.peers() ? onnxRuntimeVersion() : null;
        if (settings.peers()) {
            out.println(ort == null ? "ONNX Runtime: skipped (bench/target/lib/onnxruntime-1.22.0.jar is missing; "
                    + "mvn -B package puts it there)" : "ONNX Runtime " + ort + ": in this JVM, CPU provider");
        } else {
            out.println("PyTorch and ONNX Runtime: not run (peers off)");
        }
        if (settings.warmUp()) {
            warmUpVectorKernels(quick ? 1.5 : 4.0);
        }
        boolean ok = true;
        out.println("Columns: ms = median time per call; GB/s = minimal DRAM traffic (8 B/elem training and "
                + "inference, 12 B/elem backward) / time; % of floor = floor time / time (floor: the best call of "
                + "same-run streaming kernels moving those bytes, timed before and after the implementations; a figure "
                + "over 105% of it is flagged as a bad floor); vs scalar ref, vs PyTorch = time ratios (> 1: faster); "
                + "max error = largest |got - float64| / (1 + |float64|) (bar 1e-5). ONNX Runtime has no backward.");
        double worst = 0;
        int shapeIndex = 0;
        for (String shape : shapes) {
            err.printf(java.util.Locale.ROOT, "compare: shape %d of %d (%s)%n", ++shapeIndex, shapes.size(), shape);
            List<Row> shapeRows = measure(shape, timer, torch, ort == null ? null : "ONNX Runtime " + ort, threads);
            shapeRows.sort(java.util.Comparator.comparing(Row::op)); // stable: keeps the order within an op
            rows.addAll(shapeRows);
            Report.printTable(shape, shapeRows, out);
            for (Row r : shapeRows) {
                if (r.implementation().startsWith("vecnorm") && !(r.maxError() <= 1e-5)) {
                    out.println("SELF-CHECK FAILED: " + r.implementation() + " " + r.op().label + " max error "
                            + r.maxError());
                    ok = false;
                } else if (r.implementation().startsWith("vecnorm")) {
                    worst = Math.max(worst, r.maxError());
                }
            }
        }
        if (ok) {
            out.printf(java.util.Locale.ROOT, "self-check passed: every vecnorm output within 1e-5 of float64 "
                    + "(largest error %.1e)%n", worst);
        }
        return ok;
    }

    /** One family suite: its heading and notes, a table per case, and (fused) the summary against the target. */
    private static FamilyCompare.Result family(Suite suite, List<String> shapes, Timer timer, PyTorchPeer torch,
            int threads, PrintStream out, PrintStream err) {
        List<FamilyCompare.Case> cases = FamilyCompare.cases(suite, shapes);
        List<String> notes = FamilyCompare.notes(suite, threads);
        Report.printSuiteHeader(suite, notes, out);
        List<Row> rows = new ArrayList<>();
        int index = 0;
        for (FamilyCompare.Case cs : cases) {
            err.printf(Locale.ROOT, "compare: %s case %d of %d (%s)%n", suite.label, ++index, cases.size(),
                    cs.label());
            List<Row> caseRows = FamilyCompare.measure(cs, timer, torch, threads);
            rows.addAll(caseRows);
            Report.printFamilyTable(suite, cs.label(), caseRows, out);
        }
        List<String> summary = suite == Suite.FUSED ? FamilyCompare.fusedSummary(rows) : List.of();
        if (!summary.isEmpty()) {
            out.println();
            summary.forEach(out::println);
        }
        return new FamilyCompare.Result(suite, cases, rows, notes, summary);
    }

    /** Prints the suite's self-check line (or a line per failed output); true if every vecnorm row passed. */
    private static boolean selfCheck(String suite, List<Row> rows, PrintStream out) {
        boolean ok = true;
        double worst = 0;
        for (Row r : rows) {
            if (!r.implementation().startsWith("vecnorm")) {
                continue;
            }
            if (!(r.maxError() <= 1e-5)) {
                out.println("SELF-CHECK FAILED (" + suite + "): " + r.shape() + " " + r.implementation() + " "
                        + r.op().label + " max error " + r.maxError());
                ok = false;
            } else {
                worst = Math.max(worst, r.maxError());
            }
        }
        if (ok) {
            out.printf(Locale.ROOT, "self-check passed (%s): every vecnorm output within 1e-5 of float64 (largest "
                    + "error %.1e)%n", suite, worst);
        }
        return ok;
    }

    private static int integer(String value, String option) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got '" + value + "'");
        }
    }

    private static String next(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    static int[] parse(String shape) {
        try {
            return Arrays.stream(shape.trim().split("x")).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad shape '" + shape + "' (expected e.g. 32x256x56x56)");
        }
    }

    /**
     * Runs the Vector API kernels on one shape of each loop strategy until C2 has compiled them: before that,
     * vector code runs interpreted or in C1 (tens of times slower), which a per-measurement warm-up of a fraction
     * of a second does not always outlast.
     */
    private static void warmUpVectorKernels(double seconds) {
        BatchNormOps vector = BatchNormOps.using(Backend.vector().orElseThrow());
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int[] dims : new int[][] {{4, 8, 37, 37}, {128, 256}, {8, 64, 5, 5}}) {
            // S = 1369 runs the wide, single-vector and scalar-tail loops; S = 1 and 25 the position loops.
            NcsShape sh = NcsShape.of(dims);
            float[] x = Distribution.NORMAL.tensor(sh, 7);
            float[] y = new float[sh.size()];
            float[] mean = new float[sh.c()];
            float[] invStd = new float[sh.c()];
            float[] ones = Distribution.uniform(sh.c(), 1f, 2f, 8);
            long shapeEnd = System.nanoTime() + (end - System.nanoTime()) / 3;
            while (System.nanoTime() < shapeEnd) {
                vector.forwardTraining(dims, x, 0, y, 0, null, null, 1e-5, mean, invStd, null);
                vector.forwardInference(dims, x, 0, y, 0, null, null, mean, ones, 1e-5);
                vector.backward(dims, x, 0, x, 0, null, mean, invStd, y, 0, null, null);
            }
        }
    }

    /** ONNX Runtime's version when its jar is on the class path (vecnorm.jar's manifest points at lib/). */
    private static String onnxRuntimeVersion() {
        try {
            return OnnxRuntimePeer.version();
        } catch (LinkageError | RuntimeException e) {
            return null;
        }
    }

    private static List<Row> measure(String spec, Timer timer, PyTorchPeer torch, String ort, int threads) {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            return measure(spec, timer, torch, ort, threads, pool);
        } finally {
            pool.shutdown();
        }
    }

    private static List<Row> measure(String spec, Timer timer, PyTorchPeer torch, String ort, int threads,
            ForkJoinPool pool) {
        int[] dims = parse(spec);
        NcsShape sh = NcsShape.of(dims);
        int n = sh.n();
        int c = sh.c();
        int s = sh.s();
        float[] x = Distribution.NORMAL.tensor(sh, 1);
        float[] dy = Distribution.UNIFORM.tensor(sh, 2);
        float[] out = new float[sh.size()];
        float[] gamma = Distribution.uniform(c, 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(c, -1f, 1f, 4);
        float[] runMean = Distribution.uniform(c, -0.5f, 0.5f, 5);
        float[] runVar = Distribution.uniform(c, 0.5f, 2f, 6);
        float[] mean = new float[c];
        float[] invStd = new float[c];
        float[] dgamma = new float[c];
        float[] dbeta = new float[c];
        double eps = 1e-5;
        // vecnorm (both kernels) and the floor run on `threads` threads; the plain-Java loop stays single-threaded.
        BatchNormOps vector = BatchNormOps.using(Backend.vector().orElseThrow()).parallel(pool);
        BatchNormOps scalar = BatchNormOps.using(Backend.scalarReference()).parallel(pool);
        List<Row> rows = new ArrayList<>();

        // Training: the saved statistics of the last call feed backward below.
        Float64Reference.Training training = Float64Reference.training(sh, x, gamma, beta, eps);
        float[] rm = runMean.clone();
        float[] rv = runVar.clone();
        Baseline trainingBase = measureOp(rows, spec, Op.TRAINING, sh, timer, torch,
                Floor.strongestAffine(x, out, pool, threads),
                () -> scalar.forwardTraining(dims, x, 0, out, 0, gamma, beta, eps, mean, invStd,
                        RunningStats.pytorch(rm, rv, 0.1)),
                () -> PlainJavaBatchNorm.forwardTraining(n, c, s, x, out, gamma, beta, eps, mean, invStd),
                () -> vector.forwardTraining(dims, x, 0, out, 0, gamma, beta, eps, mean, invStd,
                        RunningStats.pytorch(rm, rv, 0.1)),
                () -> error(training.y(), out));
        double[] inference = Float64Reference.inference(sh, x, gamma, beta, runMean, runVar, eps);
        Baseline inferenceBase = measureOp(rows, spec, Op.INFERENCE, sh, timer, torch,
                Floor.strongestAffine(x, out, pool, threads),
                () -> scalar.forwardInference(dims, x, 0, out, 0, gamma, beta, runMean, runVar, eps),
                () -> PlainJavaBatchNorm.forwardInference(n, c, s, x, out, gamma, beta, runMean, runVar, eps),
                () -> vector.forwardInference(dims, x, 0, out, 0, gamma, beta, runMean, runVar, eps),
                () -> error(inference, out));
        if (ort != null) {
            onnxRuntimeRows(rows, spec, sh, timer, torch, ort, threads, x, gamma, beta, runMean, runVar,
                    training.y(), trainingBase, inference, inferenceBase);
        }
        Float64Reference.Gradients grads = Float64Reference.backward(sh, dy, x, gamma, mean, invStd);
        measureOp(rows, spec, Op.BACKWARD, sh, timer, torch,
                Floor.strongestAffine2(x, dy, out, pool, threads),
                () -> scalar.backward(dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                () -> PlainJavaBatchNorm.backward(n, c, s, dy, x, gamma, mean, invStd, out, dgamma, dbeta),
                () -> vector.backward(dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                () -> Math.max(error(grads.dx(), out), Math.max(error(grads.dgamma(), dgamma),
                        error(grads.dbeta(), dbeta))));
        return rows;
    }

    /** The same-run floor and scalar-reference times of one op: the denominators of its row ratios. */
    private record Baseline(double floorMs, double scalarMs) {
    }

    /**
     * Times the floor and the three implementations of one op, each followed by its check against float64
     * ({@code error} reads the outputs the last call wrote), and adds their rows and PyTorch's.
     */
    private static Baseline measureOp(List<Row> rows, String spec, Op op, NcsShape sh, Timer timer,
            PyTorchPeer torch, Runnable floorCall, Runnable scalarCall, Runnable plainCall, Runnable vectorCall,
            DoubleSupplier error) {
        String[] names = {SCALAR, PLAIN, VECTOR};
        Runnable[] calls = {scalarCall, plainCall, vectorCall};
        double[] ms = new double[calls.length];
        double[] errors = new double[calls.length];
        double floor = timer.floorMillis(floorCall, () -> {
            for (int i = 0; i < calls.length; i++) {
                ms[i] = timer.medianMillis(calls[i]);
                errors[i] = error.getAsDouble();
            }
        });
        double torchMs = torch == null ? Double.NaN : torch.best(spec, op);
        rows.add(new Row(spec, op, FLOOR, floor, sh.size(), floor, ms[0], torchMs, Double.NaN));
        for (int i = 0; i < calls.length; i++) {
            rows.add(new Row(spec, op, names[i], ms[i], sh.size(), floor, ms[0], torchMs, errors[i]));
        }
        if (torch != null) {
            for (String cap : torch.capabilities) {
                double t = torch.ms(spec, op, cap);
                if (!Double.isNaN(t)) {
                    rows.add(new Row(spec, op, "PyTorch " + torch.version + " " + cap, t, sh.size(), floor, ms[0],
                            torchMs, Double.NaN));
                }
            }
        }
        return new Baseline(floor, ms[0]);
    }

    /** ONNX Runtime's training and inference rows (it has no backward operator). */
    private static void onnxRuntimeRows(List<Row> rows, String spec, NcsShape sh, Timer timer, PyTorchPeer torch,
            String ort, int threads, float[] x, float[] gamma, float[] beta, float[] runMean, float[] runVar,
            double[] trainingY, Baseline trainingBase, double[] inferenceY, Baseline inferenceBase) {
        try (OnnxRuntimePeer session = new OnnxRuntimePeer(parse(spec), x, gamma, beta, runMean, runVar, threads)) {
            for (Op op : List.of(Op.TRAINING, Op.INFERENCE)) {
                boolean training = op == Op.TRAINING;
                Baseline base = training ? trainingBase : inferenceBase;
                double ms = timer.medianMillis(() -> session.run(training, false));
                session.run(training, true);
                rows.add(new Row(spec, op, ort, ms, sh.size(), base.floorMs(), base.scalarMs(),
                        torch == null ? Double.NaN : torch.best(spec, op),
                        error(training ? trainingY : inferenceY, session.lastY())));
            }
        } catch (ai.onnxruntime.OrtException | RuntimeException e) {
            rows.add(new Row(spec, Op.TRAINING, ort + " (failed: " + e.getMessage() + ")", Double.NaN, sh.size(),
                    trainingBase.floorMs(), trainingBase.scalarMs(), Double.NaN, Double.NaN));
        }
    }

    /** Largest |got - expected| / (1 + |expected|): the accuracy bar of DESIGN.md is 1e-5. NaN on a NaN mismatch. */
    static double error(double[] expected, float[] got) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Double.isNaN(expected[i]) && Float.isNaN(got[i])) {
                continue;
            }
            double e = Math.abs(got[i] - expected[i]) / (1 + Math.abs(expected[i]));
            if (Double.isNaN(e)) {
                return Double.NaN;
            }
            worst = Math.max(worst, e);
        }
        return worst;
    }

}
