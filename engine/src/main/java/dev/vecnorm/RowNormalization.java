package dev.vecnorm;

import java.util.Arrays;

/**
 * The rows of a tensor normalized over its trailing dimensions from {@code axis} on (LayerNorm, RMSNorm): R rows
 * of D contiguous elements. Checks the shape and axis and says what R and D are.
 */
record RowNormalization(int rows, int width) {

    static RowNormalization of(int[] shape, int axis) {
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
            if (k < a) {
                rows *= shape[k];
            } else {
                width *= shape[k];
            }
        }
        if (rows * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31 - 1 elements");
        }
        return new RowNormalization((int) rows, (int) width);
    }

    int size() {
        return rows * width;
    }

    /** The (n, c, s) view in which each row is one channel of one run: statistics and per-row passes. */
    NcsShape perRow() {
        return new NcsShape(1, rows, width);
    }
}
