package dev.vecnorm.proptest;

import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.doubles;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.vecnorm.testing.Distribution;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** Generators for {@link BnCase}: shapes that hit every vector tail, hostile data, and parameters. */
final class Generators {

    /** Extents around 4, 8 and 16 lanes (the float species of 128, 256 and 512 bits), and primes. */
    static final List<Integer> RUN_LENGTHS = List.of(1, 2, 3, 4, 5, 7, 8, 9, 11, 15, 16, 17, 31, 32, 33, 47, 48, 49,
            63, 64, 65, 127, 128, 129, 196);
    static final List<Integer> SMALL_DIMS = List.of(1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17);
    static final List<Integer> BATCH = List.of(1, 2, 3, 4, 5, 7, 8, 16, 17, 32);
    static final List<Integer> CHANNELS = List.of(1, 2, 3, 4, 5, 7, 8, 16, 17);
    /** Keeps every example small enough for the float64 oracle and CI time. */
    static final int MAX_ELEMENTS = 40_000;

    private Generators() {
    }

    static Gen<int[]> shapes() {
        Gen<Integer> rank = integers().between(2, 5);
        Gen<Integer> batch = Generate.pick(BATCH);
        Gen<Integer> channels = Generate.pick(CHANNELS);
        Gen<Integer> run = Generate.pick(RUN_LENGTHS);
        Gen<Integer> small = Generate.pick(SMALL_DIMS);
        return in -> {
            int r = rank.generate(in);
            int n = batch.generate(in);
            int c = channels.generate(in);
            int[] dims = new int[r];
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
            long rest = (long) c;
            for (int k = 2; k < r; k++) {
                rest *= dims[k];
            }
            dims[0] = (int) Math.max(1, Math.min(n, MAX_ELEMENTS / rest));
            return dims;
        };
    }

    static Gen<Double> eps() {
        return Generate.pick(List.of(0.0, 1e-7, 1e-5, 1e-3, 0.1)).mix(doubles().between(0, 0.1), 30);
    }

    static Gen<BnCase> cases() {
        Gen<int[]> shapes = shapes();
        Gen<Distribution> distributions = Generate.enumValues(Distribution.class);
        Gen<Long> seeds = longs().between(0, 1_000_000);
        Gen<Double> eps = eps();
        Gen<Boolean> affine = booleans().all();
        Gen<BnCase> gen = in -> new BnCase(shapes.generate(in), distributions.generate(in), seeds.generate(in),
                eps.generate(in), affine.generate(in));
        return gen.describedAs(BnCase::toString);
    }

    /** Cases whose training is defined: more than one value per channel. */
    static Gen<BnCase> trainable() {
        return cases().assuming(c -> c.shape().perChannel() > 1);
    }
}
