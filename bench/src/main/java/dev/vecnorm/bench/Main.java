package dev.vecnorm.bench;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.bench.conform.Conformance;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The vecnorm command line: {@code java --add-modules jdk.incubator.vector -jar vecnorm.jar COMMAND ...}.
 * Exit status 0 on success, 1 when a check failed, 2 on a usage error or unreadable input.
 */
public final class Main {

    private static final String USAGE = """
            usage: vecnorm.jar COMMAND [ARGS]
              compare [--quick] [--threads T] [--out DIR] [--shapes NxCxHxW,...]
                                                      time every implementation and peer, self-checking
              conform [--atol A] [--rtol R] DIR...   run ONNX-style BatchNormalization(Grad) cases
              stability [--jvms K] [--threads T] [--shapes ...] [--mixed-rounds R]
                                                      each figure in K fresh JVMs, and a mixed ResNet-50 run
              jmh [JMH ARGS]                          run the JMH benchmarks (-h for JMH's options)
            """;

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
                return dev.vecnorm.bench.compare.Compare.run(rest, out, err);
            case "stability":
                return dev.vecnorm.bench.stability.Stability.run(rest, out, err);
            case "jmh":
                org.openjdk.jmh.Main.main(rest);
                return 0;
            case "-h", "--help", "help":
                out.print(USAGE);
                return 0;
            default:
                err.println("unknown command '" + args[0] + "'");
                err.print(USAGE);
                return 2;
        }
    }

    private static int conform(String[] args, PrintStream out, PrintStream err) {
        double atol = Conformance.DEFAULT_ATOL;
        double rtol = Conformance.DEFAULT_RTOL;
        List<Path> dirs = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--atol" -> atol = Double.parseDouble(value(args, ++i, "--atol"));
                    case "--rtol" -> rtol = Double.parseDouble(value(args, ++i, "--rtol"));
                    default -> {
                        if (args[i].startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        dirs.add(Path.of(args[i]));
                    }
                }
            }
            if (dirs.isEmpty()) {
                throw new IllegalArgumentException("conform needs at least one DIR");
            }
            return new Conformance(atol, rtol, BatchNormOps.get()).runAll(dirs, out);
        } catch (IllegalArgumentException e) {
            err.println("conform: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (Conformance.UnreadableCaseException e) {
            err.println("conform: unreadable case: " + e.getMessage());
            return 2;
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
