package dev.vecnorm.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.ChannelMoments;
import dev.vecnorm.Layout;
import dev.vecnorm.RunningStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * SyncBatchNorm: two workers with batches of different sizes, synchronized through a Spark barrier stage, give
 * the outputs and running statistics of one machine training on the whole batch.
 */
class SyncBatchNormTest {

    private static final int C = 3;
    private static final int S = 10;
    /** Worker 0 holds 3 batch entries, worker 1 holds 5: the merge must weigh them by count. */
    private static final int[] ROWS = {3, 5};

    private static float[] batch(int rows, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[rows * C * S];
        for (int k = 0; k < x.length; k++) {
            x[k] = (float) (10 * (k / S % C) + random.nextGaussian() * (1 + k / S % C));
        }
        return x;
    }

    @Test
    void workersAgreeWithOneMachine() {
        float[] all = batch(ROWS[0] + ROWS[1], 21);
        float[] gamma = {1.5f, 0.5f, -1f};
        float[] beta = {0.1f, 0.2f, 0.3f};
        double eps = 1e-5;

        float[] expectedY = new float[all.length];
        RunningStats expectedRunning = RunningStats.pytorch(new float[C], filled(1f), 0.1);
        BatchNormOps.get().forwardTraining(new int[] {ROWS[0] + ROWS[1], C, S}, all, 0, expectedY, 0, gamma, beta,
                eps, null, null, expectedRunning);

        JavaRDD<Integer> workers = SparkSessions.context(SparkSessions.local2()).parallelize(List.of(0, 1), 2);
        // The barrier stage: both tasks run at once and exchange their moments (Spark's RDDBarrier, Scala API).
        scala.Function1<scala.collection.Iterator<Integer>, scala.collection.Iterator<Tuple2<Integer, float[][]>>>
                task = (scala.Function1<scala.collection.Iterator<Integer>,
                        scala.collection.Iterator<Tuple2<Integer, float[][]>>> & java.io.Serializable) ranks -> {
            int rank = ranks.next();
            int from = rank == 0 ? 0 : ROWS[0] * C * S;
            float[] x = Arrays.copyOfRange(all, from, from + ROWS[rank] * C * S);
            int[] shape = {ROWS[rank], C, S};
            ChannelMoments local = ChannelMoments.of(Layout.CHANNELS_FIRST, shape, x, 0);
            ChannelMoments global = SyncBatchNorm.allGather(BarrierTaskContext.get(), local);
            float[] y = new float[x.length];
            RunningStats running = RunningStats.pytorch(new float[C], filled(1f), 0.1);
            SyncBatchNorm.forward(BatchNormOps.get(), global, Layout.CHANNELS_FIRST, shape, x, 0, y, 0, gamma, beta,
                    eps, running);
            return CollectionConverters.asScala(Collections.singletonList(new Tuple2<>(rank, new float[][] {y,
                running.mean(), running.variance(), {global.count()}})).iterator());
        };
        @SuppressWarnings({"unchecked", "rawtypes"})
        scala.reflect.ClassTag<Tuple2<Integer, float[][]>> tag = (scala.reflect.ClassTag) scala.reflect.ClassTag$.MODULE$
                .apply(Tuple2.class);
        List<Tuple2<Integer, float[][]>> results = new ArrayList<>(
                workers.rdd().barrier().mapPartitions(task, false, tag).toJavaRDD().collect());
        results.sort((a, b) -> a._1() - b._1());

        for (Tuple2<Integer, float[][]> worker : results) {
            int rank = worker._1();
            float[][] out = worker._2();
            assertEquals((float) ((ROWS[0] + ROWS[1]) * S), out[3][0], "global count on worker " + rank);
            int from = rank == 0 ? 0 : ROWS[0] * C * S;
            for (int k = 0; k < out[0].length; k++) {
                float expected = expectedY[from + k];
                assertEquals(expected, out[0][k], 2e-6f * (1 + Math.abs(expected)), "worker " + rank + " y[" + k
                        + "]");
            }
            assertArrayEquals(expectedRunning.mean(), out[1], 1e-6f, "running mean on worker " + rank);
            assertArrayEquals(expectedRunning.variance(), out[2], 1e-6f, "running variance on worker " + rank);
        }
        // Both workers hold the same running statistics, bit for bit.
        assertArrayEquals(results.get(0)._2()[1], results.get(1)._2()[1]);
        assertArrayEquals(results.get(0)._2()[2], results.get(1)._2()[2]);
    }

    @Test
    void badArgumentsAreRejectedBeforeWriting() {
        ChannelMoments global = ChannelMoments.of(4, new double[] {1, 2}, new double[] {1, 1});
        float[] y = new float[8];
        assertEquals("shape has C = 3 but the global moments have 2 channels",
                assertThrows(IllegalArgumentException.class, () -> SyncBatchNorm.forward(BatchNormOps.get(), global,
                        Layout.CHANNELS_FIRST, new int[] {2, 3}, new float[6], 0, y, 0, null, null, 1e-5, null))
                        .getMessage());
        assertThrows(IllegalStateException.class, () -> SyncBatchNorm.forward(BatchNormOps.get(),
                ChannelMoments.of(1, new double[] {1, 2}, new double[2]), Layout.CHANNELS_FIRST, new int[] {1, 2},
                new float[2], 0, y, 0, null, null, 1e-5, null));
        assertArrayEquals(new float[8], y, "nothing written");
    }

    private static float[] filled(float v) {
        float[] a = new float[C];
        Arrays.fill(a, v);
        return a;
    }
}
