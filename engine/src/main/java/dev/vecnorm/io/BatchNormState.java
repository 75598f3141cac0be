package dev.vecnorm.io;

import dev.vecnorm.BatchNorm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Saves and loads a {@link BatchNorm} layer's state as {@code .npy} files named after PyTorch's
 * {@code state_dict} keys, one folder per layer: {@code weight.npy} and {@code bias.npy} (when affine),
 * {@code running_mean.npy}, {@code running_var.npy} (float32, shape (C)) and {@code num_batches_tracked.npy}
 * (int64 scalar) when running statistics are tracked. A folder written by {@code scripts/export_batchnorm.py}
 * from a PyTorch model loads the same way. Hyperparameters (eps, momentum) are not state: build the layer with
 * them.
 */
public final class BatchNormState {

    private BatchNormState() {
    }

    /** Writes the layer's state into {@code dir} (created if missing), replacing files of the same names. */
    public static void save(BatchNorm layer, Path dir) throws IOException {
        Files.createDirectories(dir);
        int[] shape = {layer.numFeatures()};
        if (layer.affine()) {
            Npy.writeFloat32(dir.resolve("weight.npy"), shape, layer.weight());
            Npy.writeFloat32(dir.resolve("bias.npy"), shape, layer.bias());
        }
        if (layer.trackRunningStats()) {
            Npy.writeFloat32(dir.resolve("running_mean.npy"), shape, layer.runningMean());
            Npy.writeFloat32(dir.resolve("running_var.npy"), shape, layer.runningVar());
            Npy.writeInt64(dir.resolve("num_batches_tracked.npy"), new int[0],
                    new long[] {layer.numBatchesTracked()});
        }
    }

    /**
     * Reads the state the layer has (per its affine and trackRunningStats settings) from {@code dir}. Every file
     * is read and checked before the layer changes, so a failed load leaves it as it was. float64 files are
     * accepted (rounded to float32) as PyTorch writes them for a model in double; {@code num_batches_tracked} is
     * optional (PyTorch before 0.4.1 had none).
     *
     * @throws IOException if a file is missing, unreadable or of the wrong shape or type (the message names it)
     */
    public static void load(BatchNorm layer, Path dir) throws IOException {
        int c = layer.numFeatures();
        float[] weight = layer.affine() ? channels(dir, "weight", c) : null;
        float[] bias = layer.affine() ? channels(dir, "bias", c) : null;
        float[] runningMean = layer.trackRunningStats() ? channels(dir, "running_mean", c) : null;
        float[] runningVar = layer.trackRunningStats() ? channels(dir, "running_var", c) : null;
        long batches = layer.trackRunningStats() ? batchesTracked(dir) : 0;
        if (runningVar != null) {
            for (int ch = 0; ch < c; ch++) {
                if (!(runningVar[ch] >= 0)) {
                    throw new IOException(dir.resolve("running_var.npy") + ": channel " + ch + " is "
                            + runningVar[ch] + "; a variance must be >= 0");
                }
            }
        }
        if (weight != null) {
            layer.setWeight(weight);
            layer.setBias(bias);
        }
        if (runningMean != null) {
            layer.setRunningMean(runningMean);
            layer.setRunningVar(runningVar);
            layer.setNumBatchesTracked(batches);
        }
    }

    private static float[] channels(Path dir, String key, int c) throws IOException {
        Path file = dir.resolve(key + ".npy");
        Npy.NpyArray a = read(file);
        if (a.dtype() == Npy.DType.INT64 || a.shape().length != 1 || a.shape()[0] != c) {
            throw new IOException(file + " holds " + a + "; expected FLOAT32[" + c + "] (or FLOAT64) for a layer "
                    + "of " + c + " features");
        }
        return a.toFloats();
    }

    private static long batchesTracked(Path dir) throws IOException {
        Path file = dir.resolve("num_batches_tracked.npy");
        if (!Files.exists(file)) {
            return 0;
        }
        Npy.NpyArray a = read(file);
        if (a.dtype() != Npy.DType.INT64 || a.values().length != 1 || a.values()[0] < 0) {
            throw new IOException(file + " holds " + a + (a.values().length == 1 ? " = " + a.values()[0] : "")
                    + "; expected one int64 >= 0");
        }
        return (long) a.values()[0];
    }

    private static Npy.NpyArray read(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new IOException(file + " is missing (a BatchNorm state folder has weight.npy, bias.npy, "
                    + "running_mean.npy, running_var.npy and num_batches_tracked.npy)");
        }
        return Npy.read(file);
    }
}
