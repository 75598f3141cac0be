package dev.vecnorm.spark;

import dev.vecnorm.ChannelMoments;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/**
 * Dataset-wide per-channel statistics of a tensor column: each partition's rows go through the vecnorm engine
 * (batched, vectorized), each partition sends its {@link ChannelMoments} in binary form to the driver, and the
 * driver merges them in partition-index order. The result therefore depends on the data and its partitioning
 * only: the same bits for any number of executors or cores, any scheduling order.
 */
public final class ChannelStatistics {

    private ChannelStatistics() {
    }

    /**
     * Per-channel moments of {@code column} over all rows of {@code data}.
     *
     * @param column an {@code array<float>} column, or a {@code binary} one of little-endian float32
     * @param shape each row's declared tensor shape and layout
     * @throws IllegalArgumentException on a missing column or one of another type (before any job runs), or,
     *     from the job, a row that is null or of the wrong length, named by partition and position (Spark wraps
     *     the latter in its SparkException; the message is kept)
     */
    public static ChannelMoments of(Dataset<?> data, String column, TensorShape shape) {
        if (data == null) {
            throw new IllegalArgumentException("data must not be null");
        }
        if (shape == null) {
            throw new IllegalArgumentException("shape must not be null");
        }
        TensorRows kind = TensorRows.of(data.schema(), column);
        List<Tuple2<Integer, byte[]>> parts = new ArrayList<>(perPartition(data, column, shape, kind).collect());
        parts.sort(Comparator.comparing(Tuple2::_1));
        ChannelMoments total = ChannelMoments.empty(shape.channels());
        for (Tuple2<Integer, byte[]> part : parts) {
            total = total.merge(ChannelMoments.fromBytes(part._2()));
        }
        return total;
    }

    /** One (partition index, moments bytes) per partition; empty partitions send empty moments. */
    static JavaRDD<Tuple2<Integer, byte[]>> perPartition(Dataset<?> data, String column, TensorShape shape,
            TensorRows kind) {
        JavaRDD<InternalRow> rows = data.select(data.col(column)).queryExecution().toRdd().toJavaRDD();
        return rows.mapPartitionsWithIndex((index, it) -> partitionMoments(index, it, shape, kind), false);
    }

    private static Iterator<Tuple2<Integer, byte[]>> partitionMoments(int index, Iterator<InternalRow> rows,
            TensorShape shape, TensorRows kind) {
        MomentsAccumulator accumulator = new MomentsAccumulator(shape);
        int rowLength = shape.rowLength();
        long position = 0;
        while (rows.hasNext()) {
            InternalRow row = rows.next();
            kind.copy(row, rowLength, accumulator.buffer(), accumulator.nextOffset(), index, position);
            accumulator.rowWritten();
            position++;
        }
        return Collections.singletonList(new Tuple2<>(index, accumulator.result().toBytes())).iterator();
    }
}
