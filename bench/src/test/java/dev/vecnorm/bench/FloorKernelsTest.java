package dev.vecnorm.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The floor's four-stream kernel computes what the one-stream kernels do on its range, element for element (a
 * wrong quarter offset would leave part of the range unwritten or write past it), and touches nothing outside it.
 */
class FloorKernelsTest {

    @Test
    void fourStreamsWriteTheOneStreamResultsOnTheirRangeOnly() {
        Random random = new Random(3);
        int length = 5000;
        float[] x = new float[length];
        float[] dy = new float[length];
        for (int i = 0; i < length; i++) {
            x[i] = (float) random.nextGaussian();
            dy[i] = (float) random.nextGaussian();
        }
        float[] wholeAffine = new float[length];
        float[] wholeAffine2 = new float[length];
        Floor.affine(x, wholeAffine, 1.0001f, 0.5f);
        Floor.affine2(x, dy, wholeAffine2, 1.0001f, 0.5f);
        int[][] ranges = {{0, length}, {0, 0}, {3, 4}, {7, 70}, {100, 163}, {129, 4099}, {1, length}};
        for (int[] r : ranges) {
            for (boolean two : new boolean[] {false, true}) {
                float[] out = new float[length];
                Arrays.fill(out, Float.NaN);
                Floor.fourStreams(x, two ? dy : null, out, 1.0001f, 0.5f, r[0], r[1]);
                float[] want = two ? wholeAffine2 : wholeAffine;
                for (int i = 0; i < length; i++) {
                    String where = (two ? "affine2" : "affine") + " on [" + r[0] + ", " + r[1] + "), element " + i;
                    if (i >= r[0] && i < r[1]) {
                        assertEquals(want[i], out[i], 0f, where);
                    } else {
                        assertEquals(Float.NaN, out[i], 0f, where + " (outside)");
                    }
                }
            }
        }
    }
}
