package dev.vecnorm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.BatchNorm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchNormStateTest {

    private static final int[] SHAPE = {4, 3, 5};

    private static float[] data(long seed) {
        Random r = new Random(seed);
        float[] x = new float[60];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3 + 2);
        }
        return x;
    }

    /** A layer whose state differs from a fresh one's in every field. */
    private static BatchNorm trained() {
        BatchNorm bn = new BatchNorm(3);
        bn.setWeight(new float[] {0.5f, 2f, -1f});
        bn.setBias(new float[] {0.25f, -3f, 7f});
        for (int step = 0; step < 3; step++) {
            bn.forward(SHAPE, data(step));
        }
        return bn;
    }

    @Test
    void saveThenLoadGivesTheSameLayer(@TempDir Path dir) throws IOException {
        BatchNorm original = trained();
        BatchNormState.save(original, dir.resolve("bn1"));
        BatchNorm copy = new BatchNorm(3);
        BatchNormState.load(copy, dir.resolve("bn1"));
        assertArrayEquals(original.weight(), copy.weight());
        assertArrayEquals(original.bias(), copy.bias());
        assertArrayEquals(original.runningMean(), copy.runningMean());
        assertArrayEquals(original.runningVar(), copy.runningVar());
        assertEquals(3, copy.numBatchesTracked());
        float[] x = data(9);
        assertArrayEquals(original.eval().forward(SHAPE, x), copy.eval().forward(SHAPE, x));
    }

    @Test
    void layersWithoutParametersOrStatisticsWriteAndReadOnlyWhatTheyHave(@TempDir Path dir) throws IOException {
        BatchNorm plain = new BatchNorm(3, 1e-5, 0.1, false, true);
        plain.forward(SHAPE, data(1));
        BatchNormState.save(plain, dir);
        assertFalse(Files.exists(dir.resolve("weight.npy")));
        BatchNorm other = new BatchNorm(3, 1e-5, 0.1, false, true);
        BatchNormState.load(other, dir);
        assertArrayEquals(plain.runningVar(), other.runningVar());

        Path affineOnly = dir.resolve("affine");
        BatchNorm noStats = new BatchNorm(3, 1e-5, 0.1, true, false);
        noStats.setBias(new float[] {1, 2, 3});
        BatchNormState.save(noStats, affineOnly);
        assertFalse(Files.exists(affineOnly.resolve("running_mean.npy")));
        BatchNorm loaded = new BatchNorm(3, 1e-5, 0.1, true, false);
        BatchNormState.load(loaded, affineOnly);
        assertArrayEquals(new float[] {1, 2, 3}, loaded.bias());
    }

    /**
     * A BatchNorm2d(3) trained for three steps in PyTorch 1.13 and exported by scripts/export_batchnorm.py
     * --demo, with an input and PyTorch's eval-mode output computed in float64 from the same state.
     */
    @Test
    void aPyTorchExportGivesPyTorchsEvalOutput() throws Exception {
        Path fixture = Path.of(BatchNormStateTest.class.getResource("/pytorch-batchnorm").toURI());
        BatchNorm bn = new BatchNorm(3);
        BatchNormState.load(bn, fixture.resolve("bn"));
        assertEquals(3, bn.numBatchesTracked());
        Npy.NpyArray x = Npy.read(fixture.resolve("x.npy"));
        double[] want = Npy.read(fixture.resolve("y_float64.npy")).values();
        float[] y = bn.eval().forward(x.shape(), x.toFloats());
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(y[i] - want[i]) <= 2e-6 * (1 + Math.abs(want[i])), i + ": " + y[i] + " vs " + want[i]);
        }
    }

    @Test
    void aBadFolderIsReportedAndLeavesTheLayerAsItWas(@TempDir Path dir) throws IOException {
        BatchNormState.save(trained(), dir);
        BatchNorm target = new BatchNorm(3);
        float[] before = target.runningMean();

        Files.delete(dir.resolve("running_var.npy"));
        IOException e = assertThrows(IOException.class, () -> BatchNormState.load(target, dir));
        assertTrue(e.getMessage().contains("running_var.npy is missing"), e.getMessage());

        Npy.writeFloat32(dir.resolve("running_var.npy"), new int[] {3}, new float[] {1, -0.5f, 1});
        e = assertThrows(IOException.class, () -> BatchNormState.load(target, dir));
        assertTrue(e.getMessage().endsWith("channel 1 is -0.5; a variance must be >= 0"), e.getMessage());

        Npy.writeFloat32(dir.resolve("running_var.npy"), new int[] {4}, new float[] {1, 1, 1, 1});
        e = assertThrows(IOException.class, () -> BatchNormState.load(target, dir));
        assertTrue(e.getMessage().contains("holds FLOAT32[4]; expected FLOAT32[3]"), e.getMessage());

        Npy.writeFloat64(dir.resolve("running_var.npy"), new int[] {3}, new double[] {1, 2, 3});
        Npy.writeInt64(dir.resolve("num_batches_tracked.npy"), new int[0], new long[] {-1});
        e = assertThrows(IOException.class, () -> BatchNormState.load(target, dir));
        assertTrue(e.getMessage().endsWith("holds INT64[] = -1.0; expected one int64 >= 0"), e.getMessage());

        assertArrayEquals(before, target.runningMean());
        assertArrayEquals(new float[] {1, 1, 1}, target.weight());
        assertEquals(0, target.numBatchesTracked());

        // float64 files load (rounded to float), and a missing counter means 0 (PyTorch before 0.4.1).
        Files.delete(dir.resolve("num_batches_tracked.npy"));
        BatchNormState.load(target, dir);
        assertArrayEquals(new float[] {1, 2, 3}, target.runningVar());
        assertEquals(0, target.numBatchesTracked());
    }
}
