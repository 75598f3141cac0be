package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The backward sums on native segments add their rows in the array kernels' order, so both give the same double
 * bits: across positions (two rows from the halves of the block under a page, in registers for four-vector rows,
 * four adjacent rows from a page up), and along runs (two samples from the halves of the batch, the odd one last,
 * tails one masked step at a time). The data spread over ten orders of magnitude, so that another order rounds
 * differently (float outputs would hide it: dgamma and dx round the double sums away).
 */
class SegmentSumsOrderTest {

    @Test
    void segmentsAddTheRowsInTheArrayOrder() {
        BatchNormKernels vector = Kernels.vector().orElseThrow();
        Random random = new Random(8);
        // {channels, run length}: across positions (runs of 1), along runs (130 floats with a tail; 20 floats
        // along runs for fewer than 8 samples).
        int[][] geometries = {{40, 1}, {ShortRuns.REGISTER_ROW_POSITIONS, 1},
            {ShortRuns.REGISTER_ROW_POSITIONS + 1, 1}, {Pages.FLOATS, 1}, {3, 130}, {2, 20}};
        for (int[] geometry : geometries) {
            int c = geometry[0];
            int s = geometry[1];
            for (int n : new int[] {1, 6, 7, 33, 203}) {
                float[] dy = new float[n * c * s];
                float[] x = new float[n * c * s];
                float[] center = new float[c];
                for (int ch = 0; ch < c; ch++) {
                    center[ch] = 30f + ch;
                }
                for (int i = 0; i < dy.length; i++) {
                    dy[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(10) - 4));
                    x[i] = 30f + i / s % c + (float) random.nextGaussian();
                }
                double[] sumDy = new double[c];
                double[] sumDyCentered = new double[c];
                vector.gradientSums(dy, 0, x, 0, n, c, s, 0, c, center, sumDy, sumDyCentered);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment dys = arena.allocate((long) dy.length * Float.BYTES, 64);
                    MemorySegment xs = arena.allocate((long) x.length * Float.BYTES, 64);
                    MemorySegment.copy(dy, 0, dys, ValueLayout.JAVA_FLOAT, 0, dy.length);
                    MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, x.length);
                    double[] segSumDy = new double[c];
                    double[] segSumDyCentered = new double[c];
                    ((SegmentKernels) vector).gradientSums(dys, 0, xs, 0, n, c, s, 0, c, center, segSumDy,
                            segSumDyCentered);
                    for (int ch = 0; ch < c; ch++) {
                        String where = "C " + c + ", S " + s + ", N " + n + ", channel " + ch;
                        assertEquals(sumDy[ch], segSumDy[ch], 0.0, where + ": sum(dy)");
                        assertEquals(sumDyCentered[ch], segSumDyCentered[ch], 0.0,
                                where + ": sum(dy * (x - center))");
                    }
                }
            }
        }
    }
}
