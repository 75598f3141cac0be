package dev.vecnorm;

import java.util.Arrays;

/**
 * A rank 2-5 NCHW shape reduced to the three extents every kernel works with: batch {@code n}, channels
 * {@code c} and {@code s}, the product of the spatial dims (1 for rank 2). Element (n, c, s) of a tensor lies at
 * {@code offset + (n*C + c)*S + s}.
 *
 * @param n batch size, at least 1
 * @param c channels, at least 1
 * @param s spatial positions per (n, c), at least 1
 */
public record NcsShape(int n, int c, int s) {

    /** Largest element count a {@code float[]} tensor can have. */
    public static final long MAX_ARRAY_ELEMENTS = Integer.MAX_VALUE - 8;

    public NcsShape {
        if (n < 1 || c < 1 || s < 1) {
            throw new IllegalArgumentException("extents must be positive, got n=" + n + " c=" + c + " s=" + s);
        }
        if ((long) n * c * s > MAX_ARRAY_ELEMENTS) {
            throw new IllegalArgumentException("shape n=" + n + " c=" + c + " s=" + s
                    + " has more elements than a float[] can hold");
        }
    }

    /**
     * Reduces an NCHW shape of rank 2 to 5 to (N, C, S).
     *
     * @throws IllegalArgumentException if the rank is outside 2-5, a dim is not positive, or the size exceeds
     *     {@link #MAX_ARRAY_ELEMENTS}
     */
    public static NcsShape of(int... dims) {
        long[] ncs = reduce(dims);
        if (ncs[3] > MAX_ARRAY_ELEMENTS) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims)
                    + " has more elements than a float[] can hold");
        }
        return new NcsShape((int) ncs[0], (int) ncs[1], (int) ncs[2]);
    }

    /**
     * Checks rank and dims and reduces them to {N, C, S, N*C*S}, with no limit on the total beyond a long (the
     * MemorySegment path); S alone must fit an int.
     */
    static long[] reduce(int[] dims) {
        if (dims == null) {
            throw new IllegalArgumentException("shape must not be null");
        }
        if (dims.length < 2 || dims.length > 5) {
            throw new IllegalArgumentException("shape must have rank 2 to 5 (N, C, spatial...), got rank "
                    + dims.length + ": " + Arrays.toString(dims));
        }
        for (int d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape dims must be positive, got " + Arrays.toString(dims));
            }
        }
        long spatial = 1;
        for (int i = 2; i < dims.length; i++) {
            spatial *= dims[i];
            if (spatial > MAX_ARRAY_ELEMENTS) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims)
                        + ": the spatial dims hold more than " + MAX_ARRAY_ELEMENTS + " elements per (n, c)");
            }
        }
        try {
            long total = Math.multiplyExact((long) dims[0] * dims[1], spatial);
            return new long[] {dims[0], dims[1], spatial, total};
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more elements than a long");
        }
    }

    /** Total number of elements, N*C*S. */
    public int size() {
        return n * c * s;
    }

    /** Values per channel, N*S: the count the batch statistics are taken over. */
    public int perChannel() {
        return n * s;
    }

    @Override
    public String toString() {
        return "[N=" + n + ", C=" + c + ", S=" + s + "]";
    }
}
