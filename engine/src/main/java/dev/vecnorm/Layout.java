package dev.vecnorm;

/**
 * The memory order of a tensor whose logical shape is (N, C, spatial...). Always passed explicitly: a layout is
 * never guessed from the shape.
 */
public enum Layout {
    /** NCHW, NCDHW, NCL: for each batch entry, each channel's spatial positions are contiguous. */
    CHANNELS_FIRST,
    /** NHWC, NDHWC, NLC (PyTorch's channels_last): for each position, its C channels are contiguous. */
    CHANNELS_LAST;

    /**
     * The channels-first shape that walks the same memory as {@code shape} in this layout: the shape itself,
     * or, channels-last, (N * spatial, C), whose per-channel reductions are exactly those of the logical tensor.
     *
     * @throws IllegalArgumentException on a bad shape, or a channels-last tensor with 2^31 or more positions
     */
    int[] memoryShape(int[] shape) {
        if (this == CHANNELS_FIRST) {
            return shape;
        }
        long[] ncs = NcsShape.reduce(shape);
        if (shape.length == 2) {
            return shape;
        }
        long rows = ncs[0] * ncs[2];
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("channels-last shape " + java.util.Arrays.toString(shape)
                    + " has " + rows + " positions; at most " + Integer.MAX_VALUE + " are supported");
        }
        return new int[] {(int) rows, (int) ncs[1]};
    }
}
