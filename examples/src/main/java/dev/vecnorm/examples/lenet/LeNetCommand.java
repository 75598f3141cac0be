package dev.vecnorm.examples.lenet;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** {@code ./vecnorm lenet}: the seed's experiment, LeNet on Fashion-MNIST with and without batch norm. */
public final class LeNetCommand {

    static final String USAGE = """
            usage: ./vecnorm lenet [--bn | --no-bn] [--epochs E] [--threads T] [--batch B] [--lr LR] [--seed S]
                                   [--limit N] [--data DIR] [--out DIR]
              Trains d2l's sigmoid LeNet on Fashion-MNIST with vecnorm's BatchNorm layers (--bn), without them
              (--no-bn), or both one after the other (default), and prints per epoch: the training loss and
              accuracy (running averages over the epoch, as d2l reports them), the test accuracy in eval mode,
              the seconds of the training epoch and batch norm's share of them. Writes lenet.csv and lenet.png.
              --epochs E   default 10          --threads T  default: available processors
              --batch B    default 256         --lr LR      default 1.0 (SGD)
              --seed S     default 1           --limit N    use the first N training images (default all)
              --data DIR   the gzipped IDX files, default %s (Debian: dataset-fashion-mnist)
              --out DIR    where lenet.csv and lenet.png go, default the current directory
            """.formatted(FashionMnist.DEBIAN_DIR);

    private LeNetCommand() {
    }

    /** Runs the command; returns the exit status (0 done, 1 failed, 2 usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<Boolean> variants = List.of(true, false);
        int epochs = 10;
        int threads = Runtime.getRuntime().availableProcessors();
        int batch = 256;
        double lr = 1.0;
        long seed = 1;
        int limit = Integer.MAX_VALUE;
        Path data = FashionMnist.DEBIAN_DIR;
        Path outDir = Path.of(".");
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--help", "-h" -> {
                        out.print(USAGE);
                        return 0;
                    }
                    case "--bn" -> variants = List.of(true);
                    case "--no-bn" -> variants = List.of(false);
                    case "--epochs" -> epochs = positive(a, value(args, ++i, a));
                    case "--threads" -> threads = positive(a, value(args, ++i, a));
                    case "--batch" -> batch = positive(a, value(args, ++i, a));
                    case "--limit" -> limit = positive(a, value(args, ++i, a));
                    case "--lr" -> lr = Double.parseDouble(value(args, ++i, a));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                    case "--data" -> data = Path.of(value(args, ++i, a));
                    case "--out" -> outDir = Path.of(value(args, ++i, a));
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("lenet: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        try {
            FashionMnist train = FashionMnist.load(data, true);
            if (limit < train.size()) {
                train = new FashionMnist(java.util.Arrays.copyOf(train.images(), limit * FashionMnist.PIXELS),
                        java.util.Arrays.copyOf(train.labels(), limit));
            }
            FashionMnist test = FashionMnist.load(data, false);
            out.printf("LeNet on Fashion-MNIST: %d training and %d test images, batch %d, lr %s, %d threads, "
                    + "seed %d%n", train.size(), test.size(), batch, lr, threads, seed);
            Map<String, List<Training.Epoch>> runs = new LinkedHashMap<>();
            for (boolean bn : variants) {
                String name = bn ? "with BatchNorm" : "without BatchNorm";
                out.println(name);
                out.println("epoch train_loss train_acc test_acc  seconds  bn_share");
                try (Training t = new Training(bn, seed, batch, lr, threads)) {
                    runs.put(name, t.run(epochs, train, test, out, err));
                }
            }
            Files.createDirectories(outDir);
            Path csv = outDir.resolve("lenet.csv");
            Files.writeString(csv, csv(runs));
            Path png = outDir.resolve("lenet.png");
            chart(runs, png);
            out.println("wrote " + csv + " and " + png);
            return 0;
        } catch (IOException e) {
            err.println("lenet: " + e.getMessage());
            return 1;
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String option, String value) {
        int v = Integer.parseInt(value);
        if (v < 1) {
            throw new IllegalArgumentException(option + " must be >= 1, got " + v);
        }
        return v;
    }

    static String csv(Map<String, List<Training.Epoch>> runs) {
        StringBuilder sb = new StringBuilder("network,epoch,train_loss,train_acc,test_acc,seconds,bn_share\n");
        runs.forEach((name, epochs) -> {
            for (Training.Epoch e : epochs) {
                sb.append(String.format(Locale.ROOT, "%s,%d,%.6f,%.6f,%.6f,%.3f,%.4f%n",
                        name.startsWith("with ") ? "bn" : "plain", e.epoch(), e.trainLoss(), e.trainAccuracy(),
                        e.testAccuracy(), e.seconds(), e.batchNormShare()));
            }
        });
        return sb.toString();
    }

    private static void chart(Map<String, List<Training.Epoch>> runs, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("LeNet on Fashion-MNIST (vecnorm)").xAxisTitle("epoch").yAxisTitle("loss / accuracy").build();
        chart.getStyler().setYAxisMin(0.0);
        for (Map.Entry<String, List<Training.Epoch>> run : runs.entrySet()) {
            List<Double> x = new ArrayList<>();
            List<Double> loss = new ArrayList<>();
            List<Double> trainAcc = new ArrayList<>();
            List<Double> testAcc = new ArrayList<>();
            for (Training.Epoch e : run.getValue()) {
                x.add((double) e.epoch());
                loss.add(e.trainLoss());
                trainAcc.add(e.trainAccuracy());
                testAcc.add(e.testAccuracy());
            }
            String tag = run.getKey().startsWith("with ") ? "BN" : "no BN";
            chart.addSeries("train loss, " + tag, x, loss).setMarker(SeriesMarkers.CIRCLE);
            chart.addSeries("train acc, " + tag, x, trainAcc).setMarker(SeriesMarkers.SQUARE);
            chart.addSeries("test acc, " + tag, x, testAcc).setMarker(SeriesMarkers.DIAMOND);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Entry point for running the example on its own. */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }
}
