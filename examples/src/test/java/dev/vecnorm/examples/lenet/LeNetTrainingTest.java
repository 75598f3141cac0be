package dev.vecnorm.examples.lenet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on the first 512 Fashion-MNIST images, bundled in the test resources (MIT; see their README). */
class LeNetTrainingTest {

    private static final int STEPS = 40;

    static FashionMnist subset() throws Exception {
        Path dir = Path.of(LeNetTrainingTest.class.getResource("/fashion-mnist-512").toURI());
        return FashionMnist.of(dir.resolve("train-images-idx3-ubyte.gz"), dir.resolve("train-labels-idx1-ubyte.gz"),
                Integer.MAX_VALUE);
    }

    private static double mean(double[] a, int from, int to) {
        return Arrays.stream(a, from, to).average().orElseThrow();
    }

    @Test
    void theSubsetReadsAsFashionMnist() throws Exception {
        FashionMnist data = subset();
        assertEquals(512, data.size());
        assertEquals(512 * 784, data.images().length);
        // The first training image of Fashion-MNIST is an ankle boot (class 9), the second a T-shirt (0).
        assertEquals(9, data.labels()[0]);
        assertEquals(0, data.labels()[1]);
        double max = 0;
        for (float v : data.images()) {
            assertTrue(v >= 0 && v <= 1, "pixel " + v);
            max = Math.max(max, v);
        }
        assertEquals(1.0, max);
    }

    @Test
    void batchNormLearnsFasterThanThePlainSigmoidNetwork() throws Exception {
        FashionMnist data = subset();
        double[] bn;
        double[] plain;
        try (Training withBn = new Training(true, 7, 64, 1.0, 2);
                Training without = new Training(false, 7, 64, 1.0, 2)) {
            bn = withBn.losses(data, STEPS);
            plain = without.losses(data, STEPS);
        }
        double bnEnd = mean(bn, STEPS - 5, STEPS);
        // The loss falls: the last five steps well below the first five, and below chance (ln 10 = 2.30).
        assertTrue(bnEnd < 0.7 * mean(bn, 0, 5), "BN: " + Arrays.toString(bn));
        assertTrue(bnEnd < 1.6, "BN: " + Arrays.toString(bn));
        // The seed's claim, in miniature: after the same steps the BN network's loss is below the plain one's.
        assertTrue(bnEnd < mean(plain, STEPS - 5, STEPS) - 0.3, "BN " + Arrays.toString(bn) + "\nplain "
                + Arrays.toString(plain));
    }

    @Test
    void runsAreReproducibleForAGivenSeedAndThreadCount() throws Exception {
        FashionMnist data = subset();
        double[][] runs = new double[2][];
        for (int k = 0; k < 2; k++) {
            try (Training t = new Training(true, 11, 32, 1.0, 2)) {
                runs[k] = t.losses(data, 5);
            }
        }
        assertArrayEquals(runs[0], runs[1]);
    }

    @Test
    void evalModeUsesRunningStatisticsAndLeavesTrainingOn() throws Exception {
        FashionMnist data = subset();
        try (Training t = new Training(true, 3, 64, 1.0, 1)) {
            // After 40 steps the running statistics (momentum 0.1) hold 98.5% of the batches' weight.
            t.losses(data, STEPS);
            double a = t.accuracy(data);
            assertEquals(a, t.accuracy(data), "eval mode must not update anything");
            assertTrue(a > 0.5, "accuracy after " + STEPS + " steps " + a);
        }
    }

    @Test
    void badArgumentsAndMissingDataAreClearErrors(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> new Training(true, 1, 0, 1.0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Training(true, 1, 8, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new Training(true, 1, 8, 1.0, 0));
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir, true));
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = LeNetCommand.run(new String[] {"--epochs", "0"}, new PrintStream(out), new PrintStream(err));
        assertEquals(2, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--epochs must be >= 1, got 0"));
        status = LeNetCommand.run(new String[] {"--data", dir.toString()}, new PrintStream(out),
                new PrintStream(err));
        assertEquals(1, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is missing: install Debian's"));
        assertEquals(0, LeNetCommand.run(new String[] {"--help"}, new PrintStream(out), new PrintStream(err)));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: ./vecnorm lenet"));
    }
}
