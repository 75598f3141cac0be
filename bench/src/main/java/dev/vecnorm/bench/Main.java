package dev.vecnorm.bench;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.bench.compare.Compare;
import dev.vecnorm.bench.conform.BundledCases;
import dev.vecnorm.bench.conform.Conformance;
import dev.vecnorm.bench.conform.Conformance.Verbosity;
import dev.vecnorm.bench.stability.Stability;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The vecnorm command line, run as {@code ./vecnorm COMMAND ...} (the launcher script at the repository root).
 * Exit status 0 on success, 1 when a check failed, 2 on a usage error (the usage is printed to stderr).
 */
public final class Main {

    static final String USAGE = """
            usage: ./vecnorm COMMAND [OPTIONS]      ./vecnorm COMMAND --help shows a command's options

            commands:
              compare     time vecnorm, plain Java, PyTorch and ONNX Runtime on ResNet-50's BatchNorm shapes,
                          every output checked against float64; tables, CSV and charts (--ops: LayerNorm,
                          RMSNorm, GroupNorm, InstanceNorm, channels-last and fused BatchNorm)
              conform     run ONNX-style normalization test cases (default: the cases bundled in the
                          repository, bench/src/test/resources/conformance/onnx)
              stability   each timing in several fresh JVMs, and a mixed ResNet-50 run
              jmh         the JMH benchmarks (./vecnorm jmh -h lists JMH's options)
              lenet       the seed's experiment: LeNet on Fashion-MNIST with and without BatchNorm
            """;

    static final String CONFORM_USAGE = String.format(Locale.ROOT, """
            usage: ./vecnorm conform [--atol A] [--rtol R] [--layout nchw|nhwc] [--verbose | --quiet] [DIR...]
              Runs each case folder (case.json, in_*.npy, out_*.npy) in DIR, or DIR itself if it is one, and
              checks every output with |got - expected| <= A + R * |expected|.
              DIR          default: the bundled ONNX cases, %s
              --atol A     absolute tolerance, default %s (ONNX's)
              --rtol R     relative tolerance, default %s (ONNX's)
              --layout L   nchw (default) or nhwc: run vecnorm's channels-last path on the BatchNormalization
                           cases' tensors, transposed by the runner
              --verbose    also list the cases of operators vecnorm does not implement (SKIP)
              --quiet      list only the cases that failed or could not run
              Exit status: 0 all ran cases passed, 1 a case failed (FAIL) or could not run (ERROR), 2 usage.
            """, BundledCases.RELATIVE_PATH, String.format(Locale.ROOT, "%.0e", Conformance.DEFAULT_ATOL),
            String.format(Locale.ROOT, "%.0e", Conformance.DEFAULT_RTOL));

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command and returns its exit status (so tests can call it without exiting). */
    public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "conform":
                return conform(rest, out, err);
            case "compare":
                return Compare.run(rest, out, err);
            case "stability":
                return Stability.run(rest, out, err);
            case "lenet":
                return dev.vecnorm.examples.lenet.LeNetCommand.run(rest, out, err);
            case "jmh":
                if (rest.length == 1 && rest[0].equals("--help")) {
                    out.println("usage: ./vecnorm jmh [JMH OPTIONS] [BENCHMARK REGEX]   (JMH's options follow)");
                    rest = new String[] {"-h"};
                }
                org.openjdk.jmh.Main.main(rest);
                return 0;
            case "-h", "--help", "help":
                out.print(USAGE);
                return 0;
            default:
                err.println("vecnorm: unknown command '" + args[0] + "'");
                err.print(USAGE);
                return 2;
        }
    }

    private static int conform(String[] args, PrintStream out, PrintStream err) {
        double atol = Conformance.DEFAULT_ATOL;
        double rtol = Conformance.DEFAULT_RTOL;
        Verbosity verbosity = Verbosity.DEFAULT;
        Layout layout = Layout.CHANNELS_FIRST;
        List<Path> dirs = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "-h", "--help" -> {
                        out.print(CONFORM_USAGE);
                        return 0;
                    }
                    case "--atol" -> atol = number(args, ++i, "--atol");
                    case "--rtol" -> rtol = number(args, ++i, "--rtol");
                    case "--verbose" -> verbosity = Verbosity.VERBOSE;
                    case "--quiet" -> verbosity = Verbosity.QUIET;
                    case "--layout" -> layout = switch (value(args, ++i, "--layout")) {
                        case "nchw" -> Layout.CHANNELS_FIRST;
                        case "nhwc" -> Layout.CHANNELS_LAST;
                        default -> throw new IllegalArgumentException("--layout takes nchw or nhwc, got " + args[i]);
                    };
                    default -> {
                        if (args[i].startsWith("-")) {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        dirs.add(Path.of(args[i]));
                    }
                }
            }
            if (dirs.isEmpty()) {
                dirs.add(BundledCases.folder().orElseThrow(() -> new IllegalArgumentException(
                        "no DIR given, and the bundled cases (" + BundledCases.RELATIVE_PATH + " in the repository)"
                                + " are not beside this jar")));
            }
            return new Conformance(atol, rtol, BatchNormOps.get(), layout).runAll(dirs, verbosity, out);
        } catch (IllegalArgumentException e) {
            err.println("conform: " + e.getMessage());
            err.print(CONFORM_USAGE);
            return 2;
        }
    }

    private static double number(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        try {
            return Double.parseDouble(args[i]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, got '" + args[i] + "'");
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
