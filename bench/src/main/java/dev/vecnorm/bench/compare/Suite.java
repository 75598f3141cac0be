package dev.vecnorm.bench.compare;

import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import java.util.Arrays;
import java.util.List;

/**
 * What {@code compare --ops} can run: the BatchNorm (NCHW) comparison, and one suite per member of the family
 * and per BatchNorm form (channels-last memory, fused epilogues). Each has default shapes and its ops.
 */
enum Suite {
    BATCHNORM("batchnorm", "BatchNorm, NCHW: training, inference, backward",
            List.of("32x64x56x56", "32x256x56x56", "32x512x28x28", "32x1024x14x14", "32x2048x7x7", "256x1024",
                    "1x64x56x56", "8x3x224x224"), List.of(Layout.CHANNELS_FIRST), Op.BATCH_NORM),
    LAYERNORM("layernorm", "LayerNorm over the last dimension: forward, backward",
            List.of("4096x768", "2048x4096"), List.of(Layout.CHANNELS_FIRST), List.of(Op.FORWARD, Op.BACKWARD)),
    RMSNORM("rmsnorm", "RMSNorm over the last dimension (LLaMA's): forward, backward",
            List.of("1x4096", "32x4096", "2048x4096"), List.of(Layout.CHANNELS_FIRST),
            List.of(Op.FORWARD, Op.BACKWARD)),
    GROUPNORM("groupnorm", "GroupNorm, 32 groups, NCHW and NHWC: forward, backward",
            List.of("8x256x64x64", "2x512x32x32"), List.of(Layout.CHANNELS_FIRST, Layout.CHANNELS_LAST),
            List.of(Op.FORWARD, Op.BACKWARD)),
    INSTANCENORM("instancenorm", "InstanceNorm (GroupNorm, G = C), NCHW and NHWC: forward, backward",
            List.of("8x64x128x128"), List.of(Layout.CHANNELS_FIRST, Layout.CHANNELS_LAST),
            List.of(Op.FORWARD, Op.BACKWARD)),
    CHANNELS_LAST("channels-last", "BatchNorm on NHWC memory: training, inference, backward",
            List.of("32x256x56x56", "32x512x28x28", "32x2048x7x7"), List.of(Layout.CHANNELS_LAST), Op.BATCH_NORM),
    FUSED("fused", "BatchNorm + ReLU (training, inference), relu(bn(x) + z), against BN alone",
            List.of("32x256x56x56", "32x2048x7x7"), List.of(Layout.CHANNELS_FIRST),
            List.of(Op.TRAINING, Op.TRAINING_RELU, Op.INFERENCE, Op.INFERENCE_RELU, Op.INFERENCE_ADD_RELU));

    /** GroupNorm's group count in the groupnorm suite (Stable Diffusion's and torchvision's default). */
    static final int GROUPS = 32;

    final String label;
    final String title;
    final List<String> defaultShapes;
    final List<Layout> layouts;
    final List<Op> ops;

    Suite(String label, String title, List<String> defaultShapes, List<Layout> layouts, List<Op> ops) {
        this.label = label;
        this.title = title;
        this.defaultShapes = defaultShapes;
        this.layouts = layouts;
        this.ops = ops;
    }

    static String labels() {
        return String.join(",", Arrays.stream(values()).map(s -> s.label).toList());
    }

    /** The suites of a comma-separated list, in its order, each once. */
    static List<Suite> parseList(String list) {
        List<Suite> suites = new java.util.ArrayList<>();
        for (String name : list.split(",", -1)) {
            Suite suite = Arrays.stream(values()).filter(s -> s.label.equals(name.trim())).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown --ops value '" + name.trim()
                            + "' (known: " + labels() + ")"));
            if (!suites.contains(suite)) {
                suites.add(suite);
            }
        }
        return suites;
    }

    /** Throws IllegalArgumentException, naming the suite, if this suite cannot run on {@code dims}. */
    void validate(String spec, int[] dims) {
        if (this == BATCHNORM) {
            NcsShape.of(dims); // its message as it always was
            return;
        }
        try {
            if (this == LAYERNORM || this == RMSNORM) {
                long size = 1;
                for (int d : dims) {
                    if (d < 1) {
                        throw new IllegalArgumentException("shape dims must be positive");
                    }
                    size *= d;
                }
                if (size > NcsShape.MAX_ARRAY_ELEMENTS) {
                    throw new IllegalArgumentException("more elements than a float[] can hold");
                }
                return;
            }
            NcsShape sh = NcsShape.of(dims);
            if (this == GROUPNORM && sh.c() % GROUPS != 0) {
                throw new IllegalArgumentException(GROUPS + " groups need C divisible by " + GROUPS);
            }
            if ((this == CHANNELS_LAST || this == FUSED) && (long) sh.n() * sh.s() < 2) {
                throw new IllegalArgumentException("training needs more than one value per channel");
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(label + " cannot run on shape " + spec + ": " + e.getMessage());
        }
    }
}
