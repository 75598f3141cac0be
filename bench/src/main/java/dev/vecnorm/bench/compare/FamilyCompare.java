package dev.vecnorm.bench.compare;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.GroupNormOps;
import dev.vecnorm.LayerNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import dev.vecnorm.RMSNormOps;
import dev.vecnorm.RunningStats;
import dev.vecnorm.bench.Floor;
import dev.vecnorm.testing.Distribution;
import dev.vecnorm.testing.Float64Reference;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * The suites of {@code compare --ops} beyond BatchNorm NCHW: for each case (shape and layout) and op, the
 * same-run streaming floor over the bytes the op must move, vecnorm's scalar reference and Vector API kernels,
 * each output checked against float64 ({@link FamilyReference}, or Float64Reference for the BatchNorm forms),
 * and PyTorch's times when it ran.
 */
final class FamilyCompare {

    static final double EPS = 1e-5;
    /** RMSNorm's epsilon, LLaMA's. */
    static final double RMS_EPS = 1e-6;
    /** The fused suite's target (the issue's): a fused form costs at most this much over BatchNorm alone. */
    static final double FUSED_TARGET_PERCENT = 5;

    private FamilyCompare() {
    }

    /** One shape of a suite in one layout. */
    record Case(Suite suite, String shape, Layout layout) {

        /** Whether the layout tells the suite's cases apart (GroupNorm, InstanceNorm: both layouts). */
        boolean namesLayout() {
            return suite.layouts.size() > 1;
        }

        String layoutName() {
            return layout == Layout.CHANNELS_LAST ? "channels-last" : "channels-first";
        }

        /** How PyTorch's script names it: suite:shape, and :layout when it is not channels-first. */
        String key() {
            return suite.label + ":" + shape + (namesLayout() || layout == Layout.CHANNELS_LAST ? ":" + layoutName()
                    : "");
        }

        /** The heading of its table, and its rows' shape column. */
        String label() {
            return shape + (namesLayout() ? " " + layoutName() : "");
        }
    }

    /** A suite's rows, its notes, and (fused) the summary against the target. */
    record Result(Suite suite, List<Case> cases, List<Row> rows, List<String> notes, List<String> summary) {
    }

    static List<Case> cases(Suite suite, List<String> shapes) {
        List<Case> cases = new ArrayList<>();
        for (String shape : shapes == null ? suite.defaultShapes : shapes) {
            for (Layout layout : suite.layouts) {
                cases.add(new Case(suite, shape.trim(), layout));
            }
        }
        return cases;
    }

    /** What a reader of the suite's table must know: the ops as run here and on PyTorch, and the threads. */
    static List<String> notes(Suite suite, int threads) {
        return switch (suite) {
            case LAYERNORM -> List.of("LayerNorm over the last dimension, eps 1e-5, gamma and beta of its size; "
                    + "forward moves 8 B/elem, backward (dx, dgamma, dbeta) 12 B/elem.",
                    "vecnorm spreads fixed blocks of rows over --threads threads (LayerNormOps.parallel).",
                    "PyTorch: F.layer_norm; backward aten native_layer_norm_backward from its saved statistics.");
            case RMSNORM -> List.of("RMSNorm over the last dimension as LLaMA writes it, x * rsqrt(mean(x^2) + 1e-6)"
                    + " * w; forward 8 B/elem, backward (dx, dgamma) 12 B/elem.",
                    "vecnorm spreads fixed blocks of rows over --threads threads (RMSNormOps.parallel).",
                    "PyTorch 1.13 has no RMSNorm op: forward is those torch ops under no_grad (three passes and "
                            + "temporaries), backward autograd's backward through them (graph built once, kept).");
            case GROUPNORM -> List.of("GroupNorm with " + Suite.GROUPS + " groups, eps 1e-5, on the same logical "
                    + "(N, C, H, W) tensor stored channels-first and channels-last; forward 8 B/elem, backward 12.",
                    "vecnorm spreads samples over --threads threads (GroupNormOps.parallel); the float64 reference "
                            + "indexes either layout directly.",
                    "PyTorch: F.group_norm; backward aten native_group_norm_backward; channels_last tensors for the "
                            + "channels-last rows (torch 1.13's backward returns a channels-first dx for them).");
            case INSTANCENORM -> List.of("InstanceNorm: GroupNorm with G = C (vecnorm GroupNormOps with groups = C), "
                    + "no running statistics (torch's default), eps 1e-5; forward 8 B/elem, backward 12.",
                    "vecnorm spreads samples over --threads threads.",
                    "PyTorch: F.group_norm with C groups and native_group_norm_backward (what F.instance_norm "
                            + "computes, without its batch-norm reshape); channels_last tensors for channels-last.");
            case CHANNELS_LAST -> List.of("BatchNorm2d on channels-last (NHWC) memory; shapes are logical "
                    + "(N, C, H, W). Training updates running statistics (PyTorch's convention), inference uses "
                    + "them, backward starts from the training's saved statistics.",
                    "vecnorm on --threads threads; the float64 reference is Float64Reference on the tensors "
                            + "transposed to NCHW (a transpose is exact).",
                    "PyTorch: F.batch_norm and aten native_batch_norm_backward on torch.channels_last tensors.");
            case FUSED -> List.of("ResNet's BatchNorm endings on NCHW tensors: training and inference are plain "
                    + "BatchNorm in the same run; training+relu and inference+relu = relu(bn(x)) (8 B/elem, "
                    + "floor reads x and writes y), inference+add+relu = relu(bn(x) + z) (reads x and z: 12 B/elem, "
                    + "floor reads two arrays and writes one).",
                    "\"vs BN alone\" is each implementation's time over its own plain-BatchNorm time for the same "
                            + "mode; the target is at most +" + (int) FUSED_TARGET_PERCENT + "% for the ReLU forms. "
                            + "The residual form moves 1.5x the bytes: its bar is % of floor.",
                    "PyTorch runs them as separate ops, as torchvision's ResNet does: F.batch_norm, then F.relu_ "
                            + "(nn.ReLU(inplace=True)); y += z before it for the residual.");
            case BATCHNORM -> throw new IllegalArgumentException("batchnorm is Compare's own suite");
        };
    }

    /** The fused suite's summary: each fused form's overhead over BN alone, vecnorm Vector API, per shape. */
    static List<String> fusedSummary(List<Row> rows) {
        List<String> lines = new ArrayList<>();
        for (Row r : rows) {
            if (r.implementation().startsWith(Compare.VECTOR) && !Double.isNaN(r.baselineMs())) {
                double over = r.percentOverBaseline();
                String verdict = r.op() == Op.INFERENCE_ADD_RELU
                        ? String.format(Locale.ROOT, "%.0f%% of floor", r.percentOfFloor())
                        : over <= FUSED_TARGET_PERCENT ? "target met" : "target missed";
                lines.add(String.format(Locale.ROOT, "fused %s %s: %+.1f%% over BN alone (%s)", r.shape(),
                        r.op().label, over, verdict));
            }
        }
        return lines;
    }

    /** Memoized: references are computed once, when a check first needs them (never during warm-up). */
    private static final class Lazy<T> implements Supplier<T> {
        private final Supplier<T> compute;
        private T value;

        Lazy(Supplier<T> compute) {
            this.compute = compute;
        }

        @Override
        public T get() {
            if (value == null) {
                value = compute.get();
            }
            return value;
        }
    }

    /** One op of a case: its floor, its two vecnorm calls, and the check of the outputs the last call wrote. */
    private record OpRun(Op op, long elements, Runnable floor, Runnable scalar, Runnable vector,
            DoubleSupplier error) {
    }

    /** Measures one case: floor, scalar reference, Vector API and PyTorch rows per op, in the suite's op order. */
    static List<Row> measure(Case cs, Timer timer, PyTorchPeer torch, int threads) {
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            List<Row> rows = new ArrayList<>();
            for (OpRun run : runs(cs, pool, threads)) {
                double[] measured = new double[4];
                double floor = timer.floorMillis(run.floor(), () -> {
                    measured[0] = timer.medianMillis(run.scalar());
                    measured[1] = run.error().getAsDouble();
                    measured[2] = timer.medianMillis(run.vector());
                    measured[3] = run.error().getAsDouble();
                });
                double scalarMs = measured[0];
                double scalarError = measured[1];
                double vectorMs = measured[2];
                double vectorError = measured[3];
                double torchMs = torch == null ? Double.NaN : torch.best(cs.key(), run.op());
                long n = run.elements();
                rows.add(new Row(cs.label(), run.op(), Compare.FLOOR, floor, n, floor, scalarMs, torchMs, Double.NaN));
                rows.add(new Row(cs.label(), run.op(), Compare.SCALAR, scalarMs, n, floor, scalarMs, torchMs,
                        scalarError));
                rows.add(new Row(cs.label(), run.op(), Compare.VECTOR, vectorMs, n, floor, scalarMs, torchMs,
                        vectorError));
                if (torch != null) {
                    for (String cap : torch.capabilities) {
                        double t = torch.ms(cs.key(), run.op(), cap);
                        if (!Double.isNaN(t)) {
                            rows.add(new Row(cs.label(), run.op(), "PyTorch " + torch.version + " " + cap, t, n,
                                    floor, scalarMs, torchMs, Double.NaN));
                        }
                    }
                }
            }
            return cs.suite() == Suite.FUSED ? withBaselines(rows) : rows;
        } finally {
            pool.shutdown();
        }
    }

    /** The fused rows with the same implementation's plain-BatchNorm time of the same mode. */
    private static List<Row> withBaselines(List<Row> rows) {
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            Op plain = switch (r.op()) {
                case TRAINING_RELU -> Op.TRAINING;
                case INFERENCE_RELU, INFERENCE_ADD_RELU -> Op.INFERENCE;
                default -> null;
            };
            Row base = plain == null ? null : rows.stream()
                    .filter(b -> b.op() == plain && b.implementation().equals(r.implementation())).findFirst()
                    .orElse(null);
            out.add(base == null ? r : r.withBaseline(base.ms()));
        }
        return out;
    }

    /**
     * Runs the Vector API calls of each suite on a small case until C2 has compiled them (as Compare does for
     * BatchNorm): the per-measurement warm-up alone does not always outlast the interpreter and C1.
     */
    static void warmUp(List<Suite> suites, double seconds) {
        if (suites.isEmpty()) {
            return;
        }
        long end = System.nanoTime() + (long) (seconds * 1e9);
        List<Case> small = new ArrayList<>();
        for (Suite suite : suites) {
            String shape = switch (suite) {
                case LAYERNORM -> "256x768";
                case RMSNORM -> "64x4096";
                case GROUPNORM -> "2x64x37x37";
                case INSTANCENORM -> "2x16x37x37";
                default -> "4x64x37x37";
            };
            small.addAll(cases(suite, List.of(shape)));
        }
        ForkJoinPool pool = new ForkJoinPool(1);
        try {
            for (int k = 0; k < small.size(); k++) {
                List<OpRun> runs = runs(small.get(k), pool, 1);
                long caseEnd = System.nanoTime() + (end - System.nanoTime()) / (small.size() - k);
                while (System.nanoTime() < caseEnd) {
                    runs.forEach(r -> r.vector().run());
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    private static List<OpRun> runs(Case cs, ForkJoinPool pool, int threads) {
        int[] dims = Compare.parse(cs.shape());
        return switch (cs.suite()) {
            case LAYERNORM -> layerNorm(dims, pool, threads);
            case RMSNORM -> rmsNorm(dims, pool, threads);
            case GROUPNORM -> groupNorm(dims, cs.layout(), Suite.GROUPS, pool, threads);
            case INSTANCENORM -> groupNorm(dims, cs.layout(), NcsShape.of(dims).c(), pool, threads);
            case CHANNELS_LAST -> channelsLast(dims, pool, threads);
            case FUSED -> fused(dims, pool, threads);
            case BATCHNORM -> throw new IllegalArgumentException("batchnorm is Compare's own suite");
        };
    }

    private static Backend vectorKernels() {
        return Backend.vector().orElseThrow();
    }

    /** Rows of the last dimension: NORMAL data seen as (1, rows, width), so each row has its own mean and scale. */
    private static List<OpRun> layerNorm(int[] dims, ForkJoinPool pool, int threads) {
        int width = dims[dims.length - 1];
        int rows = size(dims) / width;
        NcsShape view = new NcsShape(1, rows, width);
        float[] x = Distribution.NORMAL.tensor(view, 1);
        float[] dy = Distribution.UNIFORM.tensor(view, 2);
        float[] out = new float[x.length];
        float[] gamma = Distribution.uniform(width, 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(width, -1f, 1f, 4);
        float[] mean = new float[rows];
        float[] invStd = new float[rows];
        float[] dgamma = new float[width];
        float[] dbeta = new float[width];
        LayerNormOps vector = LayerNormOps.using(vectorKernels()).parallel(pool);
        LayerNormOps scalar = LayerNormOps.using(Backend.scalarReference()).parallel(pool);
        Lazy<FamilyReference.Forward> forward = new Lazy<>(() -> FamilyReference.layerNorm(rows, width, x, gamma,
                beta, EPS));
        // The backward's reference takes the statistics the last forward (vecnorm's Vector API) saved.
        Lazy<FamilyReference.Gradients> grads = new Lazy<>(() -> FamilyReference.layerNormBackward(rows, width, dy,
                x, gamma, mean, invStd));
        return List.of(
                new OpRun(Op.FORWARD, x.length, Floor.strongestAffine(x, out, pool, threads),
                        () -> scalar.forward(dims, -1, x, 0, out, 0, gamma, beta, EPS, mean, invStd),
                        () -> vector.forward(dims, -1, x, 0, out, 0, gamma, beta, EPS, mean, invStd),
                        () -> Compare.error(forward.get().y(), out)),
                new OpRun(Op.BACKWARD, x.length, Floor.strongestAffine2(x, dy, out, pool, threads),
                        () -> scalar.backward(dims, -1, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                        () -> vector.backward(dims, -1, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                        () -> max(Compare.error(grads.get().dx(), out), Compare.error(grads.get().dgamma(), dgamma),
                                Compare.error(grads.get().dbeta(), dbeta))));
    }

    private static List<OpRun> rmsNorm(int[] dims, ForkJoinPool pool, int threads) {
        int width = dims[dims.length - 1];
        int rows = size(dims) / width;
        NcsShape view = new NcsShape(1, rows, width);
        float[] x = Distribution.NORMAL.tensor(view, 1);
        float[] dy = Distribution.UNIFORM.tensor(view, 2);
        float[] out = new float[x.length];
        float[] gamma = Distribution.uniform(width, 0.5f, 2f, 3);
        float[] invRms = new float[rows];
        float[] dgamma = new float[width];
        RMSNormOps vector = RMSNormOps.using(vectorKernels()).parallel(pool);
        RMSNormOps scalar = RMSNormOps.using(Backend.scalarReference()).parallel(pool);
        Lazy<FamilyReference.Forward> forward = new Lazy<>(() -> FamilyReference.rmsNorm(rows, width, x, gamma,
                RMS_EPS));
        Lazy<FamilyReference.Gradients> grads = new Lazy<>(() -> FamilyReference.rmsNormBackward(rows, width, dy, x,
                gamma, invRms));
        return List.of(
                new OpRun(Op.FORWARD, x.length, Floor.strongestAffine(x, out, pool, threads),
                        () -> scalar.forward(dims, -1, x, 0, out, 0, gamma, RMS_EPS, invRms),
                        () -> vector.forward(dims, -1, x, 0, out, 0, gamma, RMS_EPS, invRms),
                        () -> Compare.error(forward.get().y(), out)),
                new OpRun(Op.BACKWARD, x.length, Floor.strongestAffine2(x, dy, out, pool, threads),
                        () -> scalar.backward(dims, -1, dy, 0, x, 0, gamma, invRms, out, 0, dgamma),
                        () -> vector.backward(dims, -1, dy, 0, x, 0, gamma, invRms, out, 0, dgamma),
                        () -> Math.max(Compare.error(grads.get().dx(), out),
                                Compare.error(grads.get().dgamma(), dgamma))));
    }

    /** GroupNorm (InstanceNorm: groups = C) on the logical NCHW data, stored in {@code layout}. */
    private static List<OpRun> groupNorm(int[] dims, Layout layout, int groups, ForkJoinPool pool, int threads) {
        NcsShape sh = NcsShape.of(dims);
        float[] x = inLayout(sh, layout, Distribution.NORMAL.tensor(sh, 1));
        float[] dy = inLayout(sh, layout, Distribution.UNIFORM.tensor(sh, 2));
        float[] out = new float[x.length];
        float[] gamma = Distribution.uniform(sh.c(), 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(sh.c(), -1f, 1f, 4);
        float[] mean = new float[sh.n() * groups];
        float[] invStd = new float[sh.n() * groups];
        float[] dgamma = new float[sh.c()];
        float[] dbeta = new float[sh.c()];
        GroupNormOps vector = GroupNormOps.using(vectorKernels()).parallel(pool);
        GroupNormOps scalar = GroupNormOps.using(Backend.scalarReference()).parallel(pool);
        Lazy<FamilyReference.Forward> forward = new Lazy<>(() -> FamilyReference.groupNorm(layout, sh, groups, x,
                gamma, beta, EPS));
        Lazy<FamilyReference.Gradients> grads = new Lazy<>(() -> FamilyReference.groupNormBackward(layout, sh,
                groups, dy, x, gamma, mean, invStd));
        return List.of(
                new OpRun(Op.FORWARD, x.length, Floor.strongestAffine(x, out, pool, threads),
                        () -> scalar.forward(layout, dims, groups, x, 0, out, 0, gamma, beta, EPS, mean, invStd),
                        () -> vector.forward(layout, dims, groups, x, 0, out, 0, gamma, beta, EPS, mean, invStd),
                        () -> Compare.error(forward.get().y(), out)),
                new OpRun(Op.BACKWARD, x.length, Floor.strongestAffine2(x, dy, out, pool, threads),
                        () -> scalar.backward(layout, dims, groups, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma,
                                dbeta),
                        () -> vector.backward(layout, dims, groups, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma,
                                dbeta),
                        () -> max(Compare.error(grads.get().dx(), out), Compare.error(grads.get().dgamma(), dgamma),
                                Compare.error(grads.get().dbeta(), dbeta))));
    }

    /** BatchNorm on NHWC memory; references from Float64Reference on the NCHW tensors, transposed back. */
    private static List<OpRun> channelsLast(int[] dims, ForkJoinPool pool, int threads) {
        NcsShape sh = NcsShape.of(dims);
        int c = sh.c();
        float[] xFirst = Distribution.NORMAL.tensor(sh, 1);
        float[] dyFirst = Distribution.UNIFORM.tensor(sh, 2);
        float[] x = FamilyReference.toChannelsLast(sh, xFirst);
        float[] dy = FamilyReference.toChannelsLast(sh, dyFirst);
        float[] out = new float[x.length];
        float[] gamma = Distribution.uniform(c, 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(c, -1f, 1f, 4);
        float[] runMean = Distribution.uniform(c, -0.5f, 0.5f, 5);
        float[] runVar = Distribution.uniform(c, 0.5f, 2f, 6);
        float[] rm = runMean.clone();
        float[] rv = runVar.clone();
        float[] mean = new float[c];
        float[] invStd = new float[c];
        float[] dgamma = new float[c];
        float[] dbeta = new float[c];
        BatchNormOps vector = BatchNormOps.using(vectorKernels()).parallel(pool);
        BatchNormOps scalar = BatchNormOps.using(Backend.scalarReference()).parallel(pool);
        Layout cl = Layout.CHANNELS_LAST;
        Lazy<double[]> training = new Lazy<>(() -> FamilyReference.toChannelsLast(sh,
                Float64Reference.training(sh, xFirst, gamma, beta, EPS).y()));
        Lazy<double[]> inference = new Lazy<>(() -> FamilyReference.toChannelsLast(sh,
                Float64Reference.inference(sh, xFirst, gamma, beta, runMean, runVar, EPS)));
        Lazy<Float64Reference.Gradients> grads = new Lazy<>(() -> Float64Reference.backward(sh, dyFirst, xFirst,
                gamma, mean, invStd));
        Lazy<double[]> dxLast = new Lazy<>(() -> FamilyReference.toChannelsLast(sh, grads.get().dx()));
        return List.of(
                new OpRun(Op.TRAINING, x.length, Floor.strongestAffine(x, out, pool, threads),
                        () -> scalar.forwardTraining(cl, dims, x, 0, out, 0, gamma, beta, EPS, mean, invStd,
                                RunningStats.pytorch(rm, rv, 0.1)),
                        () -> vector.forwardTraining(cl, dims, x, 0, out, 0, gamma, beta, EPS, mean, invStd,
                                RunningStats.pytorch(rm, rv, 0.1)),
                        () -> Compare.error(training.get(), out)),
                new OpRun(Op.INFERENCE, x.length, Floor.strongestAffine(x, out, pool, threads),
                        () -> scalar.forwardInference(cl, dims, x, 0, out, 0, gamma, beta, runMean, runVar, EPS),
                        () -> vector.forwardInference(cl, dims, x, 0, out, 0, gamma, beta, runMean, runVar, EPS),
                        () -> Compare.error(inference.get(), out)),
                new OpRun(Op.BACKWARD, x.length, Floor.strongestAffine2(x, dy, out, pool, threads),
                        () -> scalar.backward(cl, dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                        () -> vector.backward(cl, dims, dy, 0, x, 0, gamma, mean, invStd, out, 0, dgamma, dbeta),
                        () -> max(Compare.error(dxLast.get(), out), Compare.error(grads.get().dgamma(), dgamma),
                                Compare.error(grads.get().dbeta(), dbeta))));
    }

    /** Plain BatchNorm (the overloads users call) and its fused epilogues, NCHW, in the same run. */
    private static List<OpRun> fused(int[] dims, ForkJoinPool pool, int threads) {
        NcsShape sh = NcsShape.of(dims);
        int c = sh.c();
        float[] x = Distribution.NORMAL.tensor(sh, 1);
        float[] z = Distribution.UNIFORM.tensor(sh, 7);
        float[] out = new float[x.length];
        float[] gamma = Distribution.uniform(c, 0.5f, 2f, 3);
        float[] beta = Distribution.uniform(c, -1f, 1f, 4);
        float[] runMean = Distribution.uniform(c, -0.5f, 0.5f, 5);
        float[] runVar = Distribution.uniform(c, 0.5f, 2f, 6);
        float[] rm = runMean.clone();
        float[] rv = runVar.clone();
        float[] mean = new float[c];
        float[] invStd = new float[c];
        BatchNormOps vector = BatchNormOps.using(vectorKernels()).parallel(pool);
        BatchNormOps scalar = BatchNormOps.using(Backend.scalarReference()).parallel(pool);
        Layout cf = Layout.CHANNELS_FIRST;
        Lazy<double[]> training = new Lazy<>(() -> Float64Reference.training(sh, x, gamma, beta, EPS).y());
        Lazy<double[]> trainingRelu = new Lazy<>(() -> FamilyReference.addRelu(training.get(), null));
        Lazy<double[]> inference = new Lazy<>(() -> Float64Reference.inference(sh, x, gamma, beta, runMean, runVar,
                EPS));
        Lazy<double[]> inferenceRelu = new Lazy<>(() -> FamilyReference.addRelu(inference.get(), null));
        Lazy<double[]> inferenceAddRelu = new Lazy<>(() -> FamilyReference.addRelu(inference.get(), z));
        Runnable floor8 = Floor.strongestAffine(x, out, pool, threads);
        return List.of(
                new OpRun(Op.TRAINING, x.length, floor8,
                        () -> scalar.forwardTraining(dims, x, 0, out, 0, gamma, beta, EPS, mean, invStd,
                                RunningStats.pytorch(rm, rv, 0.1)),
                        () -> vector.forwardTraining(dims, x, 0, out, 0, gamma, beta, EPS, mean, invStd,
                                RunningStats.pytorch(rm, rv, 0.1)),
                        () -> Compare.error(training.get(), out)),
                new OpRun(Op.TRAINING_RELU, x.length, floor8,
                        () -> scalar.forwardTrainingFused(cf, dims, x, 0, null, 0, out, 0, gamma, beta, EPS, mean,
                                invStd, RunningStats.pytorch(rm, rv, 0.1), true),
                        () -> vector.forwardTrainingFused(cf, dims, x, 0, null, 0, out, 0, gamma, beta, EPS, mean,
                                invStd, RunningStats.pytorch(rm, rv, 0.1), true),
                        () -> Compare.error(trainingRelu.get(), out)),
                new OpRun(Op.INFERENCE, x.length, floor8,
                        () -> scalar.forwardInference(dims, x, 0, out, 0, gamma, beta, runMean, runVar, EPS),
                        () -> vector.forwardInference(dims, x, 0, out, 0, gamma, beta, runMean, runVar, EPS),
                        () -> Compare.error(inference.get(), out)),
                new OpRun(Op.INFERENCE_RELU, x.length, floor8,
                        () -> scalar.forwardInferenceFused(cf, dims, x, 0, null, 0, out, 0, gamma, beta, runMean,
                                runVar, EPS, true),
                        () -> vector.forwardInferenceFused(cf, dims, x, 0, null, 0, out, 0, gamma, beta, runMean,
                                runVar, EPS, true),
                        () -> Compare.error(inferenceRelu.get(), out)),
                new OpRun(Op.INFERENCE_ADD_RELU, x.length,
                        Floor.strongestAffine2(x, z, out, pool, threads),
                        () -> scalar.forwardInferenceFused(cf, dims, x, 0, z, 0, out, 0, gamma, beta, runMean,
                                runVar, EPS, true),
                        () -> vector.forwardInferenceFused(cf, dims, x, 0, z, 0, out, 0, gamma, beta, runMean,
                                runVar, EPS, true),
                        () -> Compare.error(inferenceAddRelu.get(), out)));
    }

    private static float[] inLayout(NcsShape sh, Layout layout, float[] channelsFirst) {
        return layout == Layout.CHANNELS_LAST ? FamilyReference.toChannelsLast(sh, channelsFirst) : channelsFirst;
    }

    private static int size(int[] dims) {
        int size = 1;
        for (int d : dims) {
            size *= d;
        }
        return size;
    }

    private static double max(double a, double b, double c) {
        // NaN (an output that is NaN where float64 is not) must win: Math.max propagates it.
        return Math.max(a, Math.max(b, c));
    }
}
