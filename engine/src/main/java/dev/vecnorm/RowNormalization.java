package dev.vecnorm;

import java.util.Arrays;

/**
 * The rows of a tensor normalized over its trailing dimensions from {@code axis} on (LayerNorm, RMSNorm): R rows
 * of D contiguous elements. Checks the shape and axis and says what R and D are.
 */
record RowNormalization(int rows, int width) {

    /** For arrays: at most 2^31 - 1 elements. */
    static RowNormalization of(int[] shape, int axis) {
        return of(shape, axis, Integer.MAX_VALUE);
    }

    /** For MemorySegments: any number of elements, with at most 2^31 - 1 rows and 2^31 - 1 elements per row. */
    static RowNormalization ofSegments(int[] shape, int axis) {
        return of(shape, axis, Long.MAX_VALUE / Float.BYTES);
    }

    private static RowNormalization of(int[] shape, int axis, long maxElements) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one dimension, got "
                    + (shape == null ? "null" : Arrays.toString(shape)));
        }
        int a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a >= shape.length) {
            throw new IllegalArgumentException("axis must be in [" + -shape.length + ", " + (shape.length - 1)
                    + "] for shape " + Arrays.toString(shape) + ", got " + axis);
        }
        long rows = 1;
        long width = 1;
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] < 1) {
                throw new IllegalArgumentException("shape dims must be positive, got " + Arrays.toString(shape));
            }
            // Saturated at 2^32 (past every limit below), so that no product of dims can wrap around.
            if (k < a) {
                rows = Math.min(rows * shape[k], 1L << 32);
            } else {
                width = Math.min(width * shape[k], 1L << 32);
            }
        }
        if (rows > Integer.MAX_VALUE || width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31 - 1 "
                    + (rows > Integer.MAX_VALUE ? "rows" : "elements per row") + " at axis " + axis);
        }
        if (rows * width > maxElements) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than "
                    + (maxElements == Integer.MAX_VALUE ? "2^31 - 1" : Long.toString(maxElements))
                    + " elements" + (maxElements == Integer.MAX_VALUE ? " (MemorySegments take more)" : ""));
        }
        return new RowNormalization((int) rows, (int) width);
    }

    /** The element count, for arrays (checked by {@link #of} to fit an int). */
    int size() {
        return Math.toIntExact(elements());
    }

    long elements() {
        return (long) rows * width;
    }

    /** The (n, c, s) view in which each row is one channel of one run: statistics and per-row passes. */
    NcsShape perRow() {
        return new NcsShape(1, rows, width);
    }
}
