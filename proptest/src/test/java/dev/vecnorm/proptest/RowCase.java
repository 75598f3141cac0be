package dev.vecnorm.proptest;

import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.vecnorm.NcsShape;
import dev.vecnorm.testing.Distribution;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * One generated LayerNorm or RMSNorm problem: a shape normalized from {@code axis} on (R rows of D elements),
 * data drawn from a distribution either row by row (each row from its own "channel" of the distribution: MIXTURE
 * gives rows of different magnitudes) or column by column (MIXTURE then mixes magnitudes inside a row), eps, which
 * of weight and bias are given, the offset at which every tensor starts in its array, and whether the forward
 * writes y over x (the backward must not overlap). Tensors are derived from the seed, so a shrunk case is
 * reproduced by its toString.
 */
record RowCase(int[] shape, int axis, Distribution distribution, boolean byColumn, long seed, double eps,
        int affine, int offset, boolean inPlace) {

    static final int WEIGHT = 1;
    static final int BIAS = 2;

    /** Normalized widths: every vector tail of 4, 8 and 16 float lanes (2, 4, 8 double lanes), and model sizes. */
    static final List<Integer> WIDTHS = Stream.concat(Generators.RUN_LENGTHS.stream(),
            Stream.of(255, 256, 257, 511, 768, 1000, 4096)).toList();
    static final List<Integer> LEADING = List.of(1, 2, 3, 4, 5, 7, 8, 16, 17);

    int rows() {
        int a = axis < 0 ? axis + shape.length : axis;
        int r = 1;
        for (int k = 0; k < a; k++) {
            r *= shape[k];
        }
        return r;
    }

    int width() {
        int a = axis < 0 ? axis + shape.length : axis;
        int d = 1;
        for (int k = a; k < shape.length; k++) {
            d *= shape[k];
        }
        return d;
    }

    int size() {
        return rows() * width();
    }

    float[] x() {
        NcsShape view = byColumn ? new NcsShape(rows(), width(), 1) : new NcsShape(1, rows(), width());
        return distribution.tensor(view, seed);
    }

    /** The upstream gradient (and the weights w of the loss sum(w * y)), independent of x. */
    float[] dy() {
        return Distribution.NORMAL.tensor(new NcsShape(1, rows(), width()), seed ^ 0x5DEECE66DL);
    }

    float[] gamma() {
        return (affine & WEIGHT) != 0 ? Distribution.uniform(width(), -2f, 2f, seed + 1) : null;
    }

    float[] beta() {
        return (affine & BIAS) != 0 ? Distribution.uniform(width(), -1f, 1f, seed + 2) : null;
    }

    SplittableRandom random() {
        return new SplittableRandom(seed * 31 + 7);
    }

    /** Coverage classes of this case. */
    List<String> classes() {
        List<String> k = new ArrayList<>();
        k.add("rank " + shape.length);
        k.add(axis < 0 ? "axis < 0" : "axis >= 0");
        k.add(rows() == 1 ? "R = 1" : "R > 1");
        k.add("D: " + Coverage.tailClass(width()));
        k.add("distribution " + distribution);
        k.add(byColumn ? "drawn by column" : "drawn by row");
        k.add(eps == 0 ? "eps = 0" : "eps > 0");
        k.add("affine " + affine);
        k.add(offset == 0 ? "offset 0" : "offset > 0");
        k.add(inPlace ? "in place" : "separate output");
        return k;
    }

    static List<String> expectedClasses(boolean withBias) {
        List<String> all = new ArrayList<>(List.of("rank 1", "rank 2", "rank 3", "rank 4", "axis < 0", "axis >= 0",
                "R = 1", "R > 1", "drawn by column", "drawn by row", "eps = 0", "eps > 0", "affine 0", "affine 1",
                "offset 0", "offset > 0", "in place", "separate output"));
        if (withBias) {
            all.addAll(List.of("affine 2", "affine 3"));
        }
        for (String t : List.of("S = 1", "1 < S < lanes - 1", "S = lanes - 1", "S = lanes", "S = lanes + 1",
                "S > lanes, multiple of lanes", "S > lanes, with tail")) {
            all.add("D: " + t);
        }
        for (Distribution d : Distribution.values()) {
            all.add("distribution " + d);
        }
        return all;
    }

    @Override
    public String toString() {
        return "shape=" + Arrays.toString(shape) + " axis=" + axis + " " + distribution + (byColumn ? " by column"
                : " by row") + " eps=" + eps + " affine=" + affine + " offset=" + offset + (inPlace ? " in place" : "")
                + " seed=" + seed;
    }

    /**
     * Cases of at most {@code maxElements} elements: 0 to 3 leading dims, then either one normalized dim from
     * {@link #WIDTHS} or 2 to 3 small ones; the axis given as a positive or a negative index.
     *
     * @param withBias whether affine may include a bias (LayerNorm) or only a weight (RMSNorm)
     */
    static Gen<RowCase> cases(int maxElements, boolean withBias) {
        Gen<Integer> leadingCount = integers().between(0, 3);
        // One normalized dim two times in three; its width half the time by tail class, else a listed width.
        Gen<Integer> trailingCount = Generate.pick(List.of(1, 1, 1, 1, 2, 3));
        Gen<Integer> width = Generate.pick(WIDTHS.stream().filter(w -> w <= maxElements).toList())
                .mix(Extents.byTailClass(maxElements), 50);
        Gen<Integer> small = Generate.pick(Generators.SMALL_DIMS);
        Gen<Integer> leading = Generate.pick(LEADING);
        Gen<Boolean> negativeAxis = booleans().all();
        Gen<Distribution> distributions = Generate.enumValues(Distribution.class);
        Gen<Boolean> byColumn = booleans().all();
        Gen<Long> seeds = longs().between(0, 1_000_000);
        Gen<Double> eps = Generators.eps();
        Gen<Integer> affine = integers().between(0, withBias ? 3 : 1);
        Gen<Integer> offsets = Generate.pick(List.of(0, 0, 1, 3));
        Gen<Boolean> inPlace = Generate.pick(List.of(false, false, false, true));
        Gen<RowCase> gen = in -> {
            int l = leadingCount.generate(in);
            int t = Math.min(trailingCount.generate(in), 4 - l);
            int[] trailing = new int[t];
            if (t == 1) {
                trailing[0] = width.generate(in);
            } else {
                for (int k = 0; k < t; k++) {
                    trailing[k] = small.generate(in);
                }
            }
            long d = 1;
            for (int v : trailing) {
                d *= v;
            }
            for (int k = 0; d > maxElements; k = (k + 1) % t) {
                d /= trailing[k];
                trailing[k] = 1;
            }
            int[] shape = new int[l + t];
            long total = d;
            for (int k = 0; k < l; k++) {
                shape[k] = (int) Math.max(1, Math.min(leading.generate(in), maxElements / total));
                total *= shape[k];
            }
            System.arraycopy(trailing, 0, shape, l, t);
            int axis = negativeAxis.generate(in) ? l - shape.length : l;
            return new RowCase(shape, axis, distributions.generate(in), byColumn.generate(in), seeds.generate(in),
                    eps.generate(in), affine.generate(in), offsets.generate(in), inPlace.generate(in));
        };
        return gen.describedAs(RowCase::toString);
    }
}
