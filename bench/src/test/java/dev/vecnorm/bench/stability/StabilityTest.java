package dev.vecnorm.bench.stability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("width-independent")
class StabilityTest {

    @Test
    void resNet50HasItsFiftyThreeBatchNormLayersInNetworkOrder() {
        // torchvision's resnet50 has 53 BatchNorm2d modules: the stem, 3+4+6+3 bottlenecks of three, and four
        // downsample branches.
        assertEquals(53, Stability.RESNET50.length);
        assertArrayEquals(new int[] {64, 112, 112}, Stability.RESNET50[0]);
        assertArrayEquals(new int[] {64, 56, 56}, Stability.RESNET50[1]);
        assertArrayEquals(new int[] {256, 56, 56}, Stability.RESNET50[4], "layer1's downsample");
        // layer2's first block: 1x1 at 56x56, then the strided 3x3 at 28x28.
        assertArrayEquals(new int[] {128, 56, 56}, Stability.RESNET50[11]);
        assertArrayEquals(new int[] {128, 28, 28}, Stability.RESNET50[12]);
        assertArrayEquals(new int[] {2048, 7, 7}, Stability.RESNET50[52]);
        assertEquals(12, Stability.distinctResNetShapes().size());
        long fourWide = Arrays.stream(Stability.RESNET50).filter(l -> l[0] == 2048).count();
        assertEquals(4, fourWide, "layer4: three expansions and one downsample");
    }

    @Test
    void usageErrorsExitTwoAndHelpExitsZero() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(2, Stability.run(new String[] {"--jvms", "0"}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--jvms must be >= 1, got 0"));
        assertEquals(2, Stability.run(new String[] {"--shapes", "32xax7"}, o, e));
        assertEquals(2, Stability.run(new String[] {"--layout", "nwhc"}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--layout must be nchw or nhwc, got nwhc"));
        assertEquals(0, Stability.run(new String[] {"--help"}, o, e));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("usage: ./vecnorm stability"));
    }

    @Test
    void layoutNamesRoundTrip() {
        assertEquals(dev.vecnorm.Layout.CHANNELS_LAST, Stability.layout("nhwc"));
        assertEquals(dev.vecnorm.Layout.CHANNELS_FIRST, Stability.layout("nchw"));
        assertEquals("nhwc", Stability.layoutName(Stability.layout("nhwc")));
        assertEquals("nchw", Stability.layoutName(Stability.layout("nchw")));
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, Stability.median(new double[] {1, 2, 9}));
        assertEquals(2.5, Stability.median(new double[] {1, 2, 3, 9}));
    }
}
