package dev.vecnorm.spark;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.ChannelMoments;

/**
 * Moments of a stream of rows: rows are copied into a batch buffer, each full batch goes through the engine's
 * statistics pass, and batch moments merge in arrival order. The batch size depends on the row shape only, so the
 * same rows give the same bits wherever they are summed. Not thread-safe: one per partition.
 */
final class MomentsAccumulator {

    /** About 1 MiB of floats per batch: large enough for the vector kernels, small enough to stay in cache. */
    private static final int BATCH_FLOATS = 1 << 18;

    /** One Spark task is one core: the engine's own thread pool would only compete with the other tasks. */
    private final BatchNormOps ops = BatchNormOps.get().singleThreaded();
    private final TensorShape shape;
    private final int rowsPerBatch;
    private final float[] batch;
    private int rows;
    private ChannelMoments total;

    MomentsAccumulator(TensorShape shape) {
        this.shape = shape;
        this.rowsPerBatch = Math.max(1, BATCH_FLOATS / shape.rowLength());
        this.batch = new float[rowsPerBatch * shape.rowLength()];
        this.total = ChannelMoments.empty(shape.channels());
    }

    /** The buffer to write the next row into, at {@link #nextOffset()}; call {@link #rowWritten()} after. */
    float[] buffer() {
        return batch;
    }

    int nextOffset() {
        return rows * shape.rowLength();
    }

    void rowWritten() {
        rows++;
        if (rows == rowsPerBatch) {
            flush();
        }
    }

    /** Adds a row of exactly {@link TensorShape#rowLength()} floats from {@code row[offset]}. */
    void add(float[] row, int offset) {
        System.arraycopy(row, offset, batch, nextOffset(), shape.rowLength());
        rowWritten();
    }

    private void flush() {
        if (rows > 0) {
            total = total.merge(ops.moments(shape.layout(), shape.batchShape(rows), batch, 0));
            rows = 0;
        }
    }

    /** The moments of every row added so far. */
    ChannelMoments result() {
        flush();
        return total;
    }
}
