package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A tensor of more than 2^31 elements (8 GiB of floats, off-heap), normalized in place. Not in the default run:
 * {@code mvn -B verify -pl engine -Plarge} runs it (needs ~9 GiB of free memory, about a minute).
 */
@Tag("large")
class LargeTensorTest {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    /** x at flat index i: channel c's offset 10*c plus a uniform [0, 1) from a multiplicative hash of i. */
    private static float value(long i, int c) {
        long h = (i + 1) * 0x9E3779B97F4A7C15L;
        return 10f * c + (h >>> 40) / (float) (1 << 24);
    }

    @Test
    void normalizesMoreThanTwoToThe31ElementsInPlace() {
        int[] dims = {4, 2, 16384, 16385};
        int n = 4;
        int c = 2;
        long s = 16384L * 16385;
        long total = n * c * s;
        assertTrue(total > (1L << 31), "the tensor must exceed 2^31 elements");
        // Shared, so that the tiles run on the pool (a confined segment keeps the call on this thread).
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate(total * Float.BYTES, 64);
            double[] sum = new double[c];
            for (long i = 0; i < total; i++) {
                int ch = (int) ((i / s) % c);
                float v = value(i, ch);
                x.setAtIndex(FLOAT, i, v);
                sum[ch] += v;
            }
            double[] mean = {sum[0] / (n * s), sum[1] / (n * s)};
            double[] squares = new double[c];
            for (long i = 0; i < total; i++) {
                int ch = (int) ((i / s) % c);
                double d = x.getAtIndex(FLOAT, i) - mean[ch];
                squares[ch] += d * d;
            }
            float[] saveMean = new float[c];
            float[] saveInvStd = new float[c];
            BatchNormOps.get().forwardTraining(dims, x, 0, x, 0, null, null, 1e-5, saveMean, saveInvStd, null);
            for (int ch = 0; ch < c; ch++) {
                double invStd = 1 / Math.sqrt(squares[ch] / (n * s) + 1e-5);
                assertEquals(mean[ch], saveMean[ch], 1e-5 * (1 + Math.abs(mean[ch])), "mean of channel " + ch);
                assertEquals(invStd, saveInvStd[ch], 1e-5 * invStd, "invstd of channel " + ch);
            }
            // Every 4099th element, from both ends of the 2^31 boundary, against the float64 formula.
            for (long i = 0; i < total; i += 4099) {
                int ch = (int) ((i / s) % c);
                double invStd = 1 / Math.sqrt(squares[ch] / (n * s) + 1e-5);
                double expected = (value(i, ch) - mean[ch]) * invStd;
                float got = x.getAtIndex(FLOAT, i);
                assertTrue(Math.abs(got - expected) <= 1e-5 * (1 + Math.abs(expected)),
                        "y[" + i + "] = " + got + ", expected " + expected);
            }
            float last = x.getAtIndex(FLOAT, total - 1);
            double expectedLast = (value(total - 1, c - 1) - mean[c - 1])
                    / Math.sqrt(squares[c - 1] / (n * s) + 1e-5);
            assertEquals(expectedLast, last, 1e-5 * (1 + Math.abs(expectedLast)), "the very last element");
        }
    }
}
