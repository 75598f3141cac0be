package dev.vecnorm.proptest;

import static org.quicktheories.generators.SourceDSL.integers;

import org.quicktheories.core.Gen;

/**
 * Extents drawn by their vector tail class ({@link Coverage#tailClass}) against the float lanes under test, each
 * of the seven classes with the same probability, so that every run of a suite reaches each of them many times
 * (drawn from fixed lists, S = lanes + 1 came up about once per 300 cases).
 */
final class Extents {

    private Extents() {
    }

    /** 1; 2 .. lanes - 2; lanes - 1; lanes; lanes + 1; 2 .. 9 times lanes; above lanes, a tail of 1 .. lanes - 1. */
    static Gen<Integer> byTailClass(int max) {
        int lanes = Coverage.LANES;
        Gen<Integer> classes = integers().between(0, 6);
        Gen<Integer> multiples = integers().between(1, 8);
        Gen<Integer> tails = integers().between(1, lanes - 1);
        return in -> {
            int k = multiples.generate(in);
            int t = tails.generate(in);
            int v = switch (classes.generate(in)) {
                case 0 -> 1;
                case 1 -> 2 + (t - 1) % (lanes - 3);
                case 2 -> lanes - 1;
                case 3 -> lanes;
                case 4 -> lanes + 1;
                case 5 -> (k + 1) * lanes;
                default -> k * lanes + (k == 1 ? Math.max(t, 2) : t);
            };
            return Math.min(v, max);
        };
    }
}
