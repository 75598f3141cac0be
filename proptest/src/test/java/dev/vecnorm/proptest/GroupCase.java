package dev.vecnorm.proptest;

import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * One generated GroupNorm problem: an (N, C, spatial...) shape of rank 2 to 5, G groups (1, C for InstanceNorm, or
 * another divisor of C), the layout the tensors are stored in, data drawn per channel from a distribution (MIXTURE
 * puts channels of different magnitudes in one group), eps, which of weight and bias are given, the offset of
 * every tensor in its array, and whether outputs overwrite inputs ({@link #inPlace}). Tensors are derived from the
 * seed, so a shrunk case is reproduced by its toString.
 * Tensors are handled in the logical channels-first order; {@link #stored} gives the layout's memory order.
 */
record GroupCase(int[] dims, int groups, Layout layout, Distribution distribution, long seed, double eps,
        int affine, int offset, int inPlace) {

    static final int WEIGHT = 1;
    static final int BIAS = 2;
    /** {@link #inPlace}: y over x in the forward, dx over dy in the backward. */
    static final int OVER_DY = 1;
    /** {@link #inPlace}: y over x in the forward, dx over x in the backward. */
    static final int OVER_X = 2;

    /**
     * Channels: below, at and above 4, 8 and 16 lanes (channels-last vectorizes across channels), with divisors
     * for groups of 2 to 16 channels.
     */
    static final List<Integer> CHANNELS = List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 32, 33, 48, 64);

    NcsShape shape() {
        return NcsShape.of(dims);
    }

    /** Channels per group. */
    int perGroup() {
        return dims[1] / groups;
    }

    /** Values per (sample, group). */
    int groupSize() {
        return perGroup() * shape().s();
    }

    /** x in channels-first order. */
    float[] x() {
        return distribution.tensor(shape(), seed);
    }

    /** The upstream gradient (the weights w of the loss sum(w * y)), channels-first, independent of x. */
    float[] dy() {
        return Distribution.NORMAL.tensor(shape(), seed ^ 0x5DEECE66DL);
    }

    float[] gamma() {
        return (affine & WEIGHT) != 0 ? Distribution.uniform(dims[1], -2f, 2f, seed + 1) : null;
    }

    float[] beta() {
        return (affine & BIAS) != 0 ? Distribution.uniform(dims[1], -1f, 1f, seed + 2) : null;
    }

    /** A channels-first tensor in this case's memory order. */
    float[] stored(float[] first) {
        return layout == Layout.CHANNELS_LAST ? Tensors.toLast(shape(), first) : first;
    }

    /** A tensor in this case's memory order, back in channels-first order. */
    float[] logical(float[] stored) {
        return layout == Layout.CHANNELS_LAST ? Tensors.toFirst(shape(), stored) : stored;
    }

    List<String> classes() {
        int c = dims[1];
        int lanes = Coverage.LANES;
        List<String> k = new ArrayList<>();
        k.add("rank " + dims.length);
        k.add("layout " + layout);
        k.add(groups == c ? "G = C (instance)" : groups == 1 ? "G = 1" : "1 < G < C");
        // The extent the kernels run along: positions channels-first, channels channels-last.
        k.add("vectorized extent: " + Coverage.tailClass(layout == Layout.CHANNELS_LAST ? c : shape().s()));
        k.add(layout == Layout.CHANNELS_LAST ? "channels-last C: " + (c < lanes ? "C < lanes" : c == lanes
                ? "C = lanes" : "C > lanes") : "channels-first S: " + (shape().s() < lanes ? "S < lanes"
                : "S >= lanes"));
        k.add("distribution " + distribution);
        k.add(shape().n() == 1 ? "N = 1" : "N > 1");
        k.add(eps == 0 ? "eps = 0" : "eps > 0");
        k.add("affine " + affine);
        k.add(offset == 0 ? "offset 0" : "offset > 0");
        k.add(inPlace == 0 ? "separate outputs" : inPlace == OVER_DY ? "in place, dx over dy" : "in place, dx over x");
        return k;
    }

    static List<String> expectedClasses() {
        List<String> all = new ArrayList<>(List.of("rank 2", "rank 3", "rank 4", "rank 5",
                "layout CHANNELS_FIRST", "layout CHANNELS_LAST", "G = C (instance)", "G = 1", "1 < G < C",
                "channels-last C: C < lanes", "channels-last C: C = lanes", "channels-last C: C > lanes",
                "channels-first S: S < lanes", "channels-first S: S >= lanes", "N = 1", "N > 1", "eps = 0",
                "eps > 0", "affine 0", "affine 1", "affine 2", "affine 3", "offset 0", "offset > 0",
                "separate outputs", "in place, dx over dy", "in place, dx over x"));
        for (String t : List.of("S = 1", "1 < S < lanes - 1", "S = lanes - 1", "S = lanes", "S = lanes + 1",
                "S > lanes, multiple of lanes", "S > lanes, with tail")) {
            all.add("vectorized extent: " + t);
        }
        for (Distribution d : Distribution.values()) {
            all.add("distribution " + d);
        }
        return all;
    }

    @Override
    public String toString() {
        return Arrays.toString(dims) + " G=" + groups + " " + layout + " " + distribution + " eps=" + eps
                + " affine=" + affine + " offset=" + offset + (inPlace == 0 ? "" : inPlace == OVER_DY
                        ? " in place (dx over dy)" : " in place (dx over x)") + " seed=" + seed;
    }

    /** Cases of at most {@code maxElements} elements (a single sample may be larger when C * S alone is). */
    static Gen<GroupCase> cases(int maxElements) {
        Gen<Integer> rank = integers().between(2, 5);
        Gen<Integer> batch = Generate.pick(Generators.BATCH);
        Gen<Integer> channels = Generate.pick(CHANNELS.stream().filter(c -> c <= maxElements).toList());
        // The extent the kernels vectorize (channels-last: C; channels-first rank 3: S) half the time by tail class.
        Gen<Integer> lastChannels = channels.mix(Extents.byTailClass(maxElements), 50);
        Gen<Integer> run = Generate.pick(Generators.RUN_LENGTHS).mix(Extents.byTailClass(maxElements), 50);
        Gen<Integer> small = Generate.pick(Generators.SMALL_DIMS);
        Gen<Integer> groupKind = integers().between(0, 2);
        Gen<Integer> divisorIndex = integers().between(0, 1000);
        Gen<Layout> layouts = Generate.enumValues(Layout.class);
        Gen<Distribution> distributions = Generate.enumValues(Distribution.class);
        Gen<Long> seeds = longs().between(0, 1_000_000);
        Gen<Double> eps = Generators.eps();
        Gen<Integer> affine = integers().between(0, 3);
        Gen<Integer> offsets = Generate.pick(List.of(0, 0, 1, 3));
        Gen<Integer> inPlace = Generate.pick(List.of(0, 0, 0, 0, OVER_DY, OVER_X));
        Gen<GroupCase> gen = in -> {
            Layout layout = layouts.generate(in);
            int r = rank.generate(in);
            int[] dims = new int[r];
            int c = (layout == Layout.CHANNELS_LAST ? lastChannels : channels).generate(in);
            dims[1] = c;
            switch (r) {
                case 3 -> dims[2] = run.generate(in);
                case 4 -> {
                    dims[2] = small.generate(in);
                    dims[3] = small.generate(in);
                }
                case 5 -> {
                    dims[2] = small.generate(in) % 4 + 1;
                    dims[3] = small.generate(in);
                    dims[4] = small.generate(in);
                }
                default -> {
                }
            }
            // Spatial dims down to 1, largest first, until one sample fits.
            while (r > 2 && (long) c * IntStream.range(2, r).map(k -> dims[k]).reduce(1, (a, b) -> a * b)
                    > maxElements) {
                int largest = 2;
                for (int k = 3; k < r; k++) {
                    largest = dims[k] > dims[largest] ? k : largest;
                }
                dims[largest] = 1;
            }
            long sample = (long) c * IntStream.range(2, r).map(k -> dims[k]).reduce(1, (a, b) -> a * b);
            dims[0] = (int) Math.max(1, Math.min(batch.generate(in), maxElements / sample));
            int kind = groupKind.generate(in);
            int[] divisors = IntStream.rangeClosed(2, c - 1).filter(g -> c % g == 0).toArray();
            int index = divisorIndex.generate(in);
            int groups = kind == 0 ? 1 : kind == 1 || divisors.length == 0 ? c : divisors[index % divisors.length];
            return new GroupCase(dims, groups, layout, distributions.generate(in), seeds.generate(in),
                    eps.generate(in), affine.generate(in), offsets.generate(in), inPlace.generate(in));
        };
        return gen.describedAs(GroupCase::toString);
    }
}
