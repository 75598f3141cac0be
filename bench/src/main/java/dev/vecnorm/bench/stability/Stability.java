package dev.vecnorm.bench.stability;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The stability guards of the benchmarks: each figure timed in several fresh JVMs (min, median, max: a JIT
 * cliff shows as a spread, not as one unlucky number), and a mixed-shape run that calls BatchNorm on every
 * ResNet-50 layer in network order in one JVM (forward in order, backward in reverse, as training does) and
 * compares each layer with its isolated figure, so a profile taken on one shape that spoils another shows up.
 *
 * <p>Each child JVM warms an operation for {@value #WARM_SECONDS} s and reports the median of the calls of the
 * next {@value #TIMED_SECONDS} s (at least 10 calls); figures are milliseconds per call.
 */
public final class Stability {

    static final double WARM_SECONDS = 1.0;
    static final double TIMED_SECONDS = 1.0;
    static final String[] OPS = {"training", "inference", "backward"};

    /** ResNet-50's BatchNorm layers at batch 32, in network order (C, H, W). */
    static final int[][] RESNET50 = resnet50();

    private static final String USAGE = """
            usage: ./vecnorm stability [--jvms K] [--threads T] [--shapes NxCxHxW,...] [--mixed-rounds R]
                                       [--layout nchw|nhwc]
              Times training, inference and backward of each shape in K fresh JVMs (default 5) and prints
              min/median/max per figure; then runs every ResNet-50 BatchNorm layer (batch 32) in network order
              in one JVM for R rounds (default 4; 0 skips it) and compares each distinct layer shape with its
              fresh-JVM median. --threads defaults to 1. Default shapes: the distinct ResNet-50 layer shapes.
              --layout nhwc stores every tensor channels-last (shapes stay logical N, C, H, W); default nchw.
            """;

    private Stability() {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        int jvms = 5;
        int threads = 1;
        int rounds = 4;
        Layout layout = Layout.CHANNELS_FIRST;
        List<int[]> shapes = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--jvms" -> jvms = positive(args, ++i, "--jvms");
                    case "--threads" -> threads = positive(args, ++i, "--threads");
                    case "--mixed-rounds" -> rounds = Integer.parseInt(value(args, ++i, "--mixed-rounds"));
                    case "--layout" -> layout = layout(value(args, ++i, "--layout"));
                    case "--shapes" -> {
                        for (String s : value(args, ++i, "--shapes").split(",")) {
                            shapes.add(parseShape(s));
                        }
                    }
                    case "--child" -> {
                        return child(args, i + 1, out);
                    }
                    case "-h", "--help" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("stability: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (shapes.isEmpty()) {
            shapes = distinctResNetShapes();
        }
        out.printf(Locale.ROOT, "vecnorm stability: %d fresh JVMs per shape, threads %d, %s, %s, %d cores%n", jvms,
                threads, layoutName(layout), System.getProperty("java.vm.version"),
                Runtime.getRuntime().availableProcessors());
        out.println("| shape | op | min ms | median ms | max ms | max/min |");
        out.println("|---|---|---|---|---|---|");
        Map<String, double[]> isolatedMedian = new LinkedHashMap<>();
        for (int[] shape : shapes) {
            String name = shapeName(shape);
            double[][] runs = new double[jvms][];
            for (int k = 0; k < jvms; k++) {
                err.printf(Locale.ROOT, "stability: %s, JVM %d of %d%n", name, k + 1, jvms);
                runs[k] = parseFigures(childOutput(List.of("isolated", name, Integer.toString(threads),
                        layoutName(layout))));
            }
            double[] medians = new double[OPS.length];
            for (int op = 0; op < OPS.length; op++) {
                double[] v = new double[jvms];
                for (int k = 0; k < jvms; k++) {
                    v[k] = runs[k][op];
                }
                Arrays.sort(v);
                medians[op] = median(v);
                out.printf(Locale.ROOT, "| %s | %s | %.3f | %.3f | %.3f | %.2f |%n", name, OPS[op], v[0], medians[op],
                        v[jvms - 1], v[jvms - 1] / v[0]);
            }
            isolatedMedian.put(name, medians);
        }
        if (rounds > 0) {
            err.println("stability: mixed ResNet-50 run");
            List<String> lines = childLines(List.of("mixed", Integer.toString(rounds), Integer.toString(threads),
                    layoutName(layout)));
            out.println();
            out.printf(Locale.ROOT, "Mixed run: %d ResNet-50 BatchNorm layers in network order, %d rounds, one JVM;"
                    + " median per distinct shape vs its fresh-JVM median%n", RESNET50.length, rounds);
            out.println("| shape | layers | training ms (mixed) | isolated | ratio | backward ms (mixed) | isolated "
                    + "| ratio |");
            out.println("|---|---|---|---|---|---|---|---|");
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                double[] iso = isolatedMedian.get(f[0]);
                double train = Double.parseDouble(f[2]);
                double back = Double.parseDouble(f[3]);
                out.printf(Locale.ROOT, "| %s | %s | %.3f | %s | %s | %.3f | %s | %s |%n", f[0], f[1], train,
                        iso == null ? "-" : String.format(Locale.ROOT, "%.3f", iso[0]),
                        iso == null ? "-" : String.format(Locale.ROOT, "%.2f", train / iso[0]), back,
                        iso == null ? "-" : String.format(Locale.ROOT, "%.3f", iso[2]),
                        iso == null ? "-" : String.format(Locale.ROOT, "%.2f", back / iso[2]));
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------------
    // children

    private static int child(String[] args, int from, PrintStream out) {
        String mode = args[from];
        if (mode.equals("isolated")) {
            int[] shape = parseShape(args[from + 1]);
            Layer layer = new Layer(shape, ops(Integer.parseInt(args[from + 2])), layout(args[from + 3]));
            double[] figures = new double[OPS.length];
            for (int op = 0; op < OPS.length; op++) {
                int which = op;
                figures[op] = time(() -> layer.run(which));
            }
            out.printf(Locale.ROOT, "%.4f %.4f %.4f%n", figures[0], figures[1], figures[2]);
            return 0;
        }
        int rounds = Integer.parseInt(args[from + 1]);
        BatchNormOps ops = ops(Integer.parseInt(args[from + 2]));
        Layout layout = layout(args[from + 3]);
        Map<String, Layer> byShape = new LinkedHashMap<>();
        Layer[] net = new Layer[RESNET50.length];
        for (int l = 0; l < net.length; l++) {
            int[] shape = {32, RESNET50[l][0], RESNET50[l][1], RESNET50[l][2]};
            net[l] = byShape.computeIfAbsent(shapeName(shape), k -> new Layer(shape, ops, layout));
        }
        Map<String, List<Double>> train = new LinkedHashMap<>();
        Map<String, List<Double>> back = new LinkedHashMap<>();
        Map<String, Integer> count = new LinkedHashMap<>();
        for (Layer layer : net) {
            count.merge(layer.name, 1, Integer::sum);
        }
        for (int r = 0; r < rounds + 1; r++) {
            boolean record = r > 0;  // round 0 is the network's first step: compiles, not timed
            for (Layer layer : net) {
                long t0 = System.nanoTime();
                layer.run(0);
                if (record) {
                    train.computeIfAbsent(layer.name, k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6);
                }
            }
            for (int l = net.length - 1; l >= 0; l--) {
                long t0 = System.nanoTime();
                net[l].run(2);
                if (record) {
                    back.computeIfAbsent(net[l].name, k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6);
                }
            }
        }
        for (String name : train.keySet()) {
            out.printf(Locale.ROOT, "%s %d %.4f %.4f%n", name, count.get(name), median(train.get(name)),
                    median(back.get(name)));
        }
        return 0;
    }

    private static BatchNormOps ops(int threads) {
        return threads == 1 ? BatchNormOps.get().singleThreaded()
                : BatchNormOps.get().parallel(new java.util.concurrent.ForkJoinPool(threads));
    }

    /** Median ms per call after the warm-up. */
    static double time(Runnable call) {
        long start = System.nanoTime();
        while (System.nanoTime() - start < WARM_SECONDS * 1e9) {
            call.run();
        }
        List<Double> times = new ArrayList<>();
        start = System.nanoTime();
        while (times.size() < 10 || System.nanoTime() - start < TIMED_SECONDS * 1e9) {
            long t0 = System.nanoTime();
            call.run();
            times.add((System.nanoTime() - t0) / 1e6);
        }
        return median(times);
    }

    /** One BatchNorm layer's tensors and its three calls. */
    private static final class Layer {
        final String name;
        final int[] shape;
        final BatchNormOps ops;
        final Layout layout;
        final float[] x;
        final float[] y;
        final float[] dy;
        final float[] dx;
        final float[] gamma;
        final float[] beta;
        final float[] mean;
        final float[] invStd;
        final float[] dgamma;
        final float[] dbeta;

        Layer(int[] shape, BatchNormOps ops, Layout layout) {
            this.shape = shape;
            this.layout = layout;
            this.name = shapeName(shape);
            this.ops = ops;
            int size = Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b));
            int c = shape[1];
            Random random = new Random(42);
            x = new float[size];
            dy = new float[size];
            for (int i = 0; i < size; i++) {
                x[i] = (float) (random.nextGaussian() * 2 + 1);
                dy[i] = (float) random.nextGaussian();
            }
            y = new float[size];
            dx = new float[size];
            gamma = new float[c];
            beta = new float[c];
            Arrays.fill(gamma, 1.5f);
            mean = new float[c];
            invStd = new float[c];
            dgamma = new float[c];
            dbeta = new float[c];
            run(0);
        }

        void run(int op) {
            switch (op) {
                case 0 -> ops.forwardTraining(layout, shape, x, 0, y, 0, gamma, beta, 1e-5, mean, invStd, null);
                case 1 -> ops.forwardInference(layout, shape, x, 0, y, 0, gamma, beta, mean, invStd, 1e-5);
                default -> ops.backward(layout, shape, dy, 0, x, 0, gamma, mean, invStd, dx, 0, dgamma, dbeta);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // plumbing

    private static List<String> childLines(List<String> childArgs) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.add("--child");
        command.addAll(childArgs);
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException("child JVM failed: " + String.join(" ", command));
        }
        return lines;
    }

    private static String childOutput(List<String> childArgs) throws IOException, InterruptedException {
        List<String> lines = childLines(childArgs);
        return lines.get(lines.size() - 1);
    }

    private static double[] parseFigures(String line) {
        return Arrays.stream(line.trim().split("\\s+")).mapToDouble(Double::parseDouble).toArray();
    }

    /** Entry point of the child JVMs (no System.exit in between: the parent reads their output). */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            System.exit(Stability.run(args, System.out, System.err));
        }
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).sorted().toArray());
    }

    static int[] parseShape(String s) {
        try {
            int[] shape = Arrays.stream(s.trim().split("x")).mapToInt(Integer::parseInt).toArray();
            if (shape.length < 2 || Arrays.stream(shape).anyMatch(d -> d < 1)) {
                throw new IllegalArgumentException("bad shape '" + s + "' (want NxC[xH[xW]], positive)");
            }
            return shape;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad shape '" + s + "' (want NxC[xH[xW]])");
        }
    }

    static String shapeName(int[] shape) {
        StringBuilder b = new StringBuilder();
        for (int d : shape) {
            b.append(b.isEmpty() ? "" : "x").append(d);
        }
        return b.toString();
    }

    static List<int[]> distinctResNetShapes() {
        Map<String, int[]> distinct = new LinkedHashMap<>();
        for (int[] l : RESNET50) {
            int[] shape = {32, l[0], l[1], l[2]};
            distinct.putIfAbsent(shapeName(shape), shape);
        }
        return new ArrayList<>(distinct.values());
    }

    private static int[][] resnet50() {
        List<int[]> layers = new ArrayList<>();
        layers.add(new int[] {64, 112, 112});  // stem
        int[][] stages = {{64, 56, 3}, {128, 28, 4}, {256, 14, 6}, {512, 7, 3}};
        int inputSize = 56;
        for (int[] stage : stages) {
            int width = stage[0];
            int size = stage[1];
            for (int block = 0; block < stage[2]; block++) {
                // torchvision's Bottleneck: 1x1 at the input's size, 3x3 (strided in the first block), 1x1 expand.
                layers.add(new int[] {width, block == 0 ? inputSize : size, block == 0 ? inputSize : size});
                layers.add(new int[] {width, size, size});
                layers.add(new int[] {4 * width, size, size});
                if (block == 0) {
                    layers.add(new int[] {4 * width, size, size});  // downsample branch
                }
            }
            inputSize = size;
        }
        return layers.toArray(new int[0][]);
    }

    /** {@code nchw} or {@code nhwc}, as the option and the child arguments spell them. */
    static Layout layout(String name) {
        return switch (name) {
            case "nchw" -> Layout.CHANNELS_FIRST;
            case "nhwc" -> Layout.CHANNELS_LAST;
            default -> throw new IllegalArgumentException("--layout must be nchw or nhwc, got " + name);
        };
    }

    static String layoutName(Layout layout) {
        return layout == Layout.CHANNELS_LAST ? "nhwc" : "nchw";
    }

    private static int positive(String[] args, int i, String option) {
        int v = Integer.parseInt(value(args, i, option));
        if (v < 1) {
            throw new IllegalArgumentException(option + " must be >= 1, got " + v);
        }
        return v;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
