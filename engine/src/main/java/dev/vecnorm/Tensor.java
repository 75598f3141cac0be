package dev.vecnorm;

import java.util.Arrays;

/**
 * A float32 tensor: an array, the offset of its first element, a shape and a {@link Layout}. The operations'
 * tensor overloads take these instead of (array, offset, shape) triples, so a call names what it passes and
 * checks that x, y, dy and dx agree; the raw overloads remain for hot loops that must not allocate. The view
 * does not copy: writes through the array are seen by the tensor and the other way round.
 */
public final class Tensor {

    private final float[] data;
    private final int offset;
    private final int[] shape;
    private final Layout layout;
    private final int size;

    private Tensor(float[] data, int offset, int[] shape, Layout layout) {
        if (data == null) {
            throw new IllegalArgumentException("data must not be null");
        }
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        int elements = elements(shape);
        if (offset < 0 || offset > data.length - elements) {
            throw new IllegalArgumentException("a tensor of shape " + Arrays.toString(shape) + " (" + elements
                    + " elements) at offset " + offset + " does not fit data of length " + data.length);
        }
        this.data = data;
        this.offset = offset;
        this.shape = shape.clone();
        this.layout = layout;
        this.size = elements;
    }

    /** The channels-first tensor of {@code shape} over {@code data} from index 0. */
    public static Tensor of(float[] data, int... shape) {
        return new Tensor(data, 0, shape, Layout.CHANNELS_FIRST);
    }

    /** A new zero channels-first tensor of {@code shape}. */
    public static Tensor zeros(int... shape) {
        return of(new float[elements(shape)], shape);
    }

    /** The element count of a valid shape. */
    private static int elements(int[] shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("shape must have at least one dimension, got "
                    + Arrays.toString(shape));
        }
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape dims must be >= 0, got " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape)
                        + " has more elements than a float[] can hold");
            }
        }
        return (int) n;
    }

    /** The same array and shape, starting at element {@code offset} of the array. */
    public Tensor at(int offset) {
        return new Tensor(data, offset, shape, layout);
    }

    /**
     * The same elements read in {@code layout}: the shape stays the logical (N, C, spatial...) one, e.g.
     * {@code Tensor.of(nhwc, n, c, h, w).in(Layout.CHANNELS_LAST)} for PyTorch's channels_last memory.
     */
    public Tensor in(Layout layout) {
        return new Tensor(data, offset, shape, layout);
    }

    /** A new zero tensor of the same shape and layout, at offset 0 of its own array. */
    public Tensor zerosLike() {
        return new Tensor(new float[size], 0, shape, layout);
    }

    /** The array itself (not a copy). */
    public float[] data() {
        return data;
    }

    /** Index of the first element in {@link #data()}. */
    public int offset() {
        return offset;
    }

    /** A copy of the logical shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Dimension {@code i} of the shape. */
    public int dim(int i) {
        return shape[i];
    }

    public int rank() {
        return shape.length;
    }

    public Layout layout() {
        return layout;
    }

    /** The number of elements. */
    public int size() {
        return size;
    }

    /** A copy of the tensor's elements, in memory order. */
    public float[] toArray() {
        return Arrays.copyOfRange(data, offset, offset + size);
    }

    /** The shared internal shape array, for the operations in this package (which never write it). */
    int[] shapeUnsafe() {
        return shape;
    }

    /** Checks that {@code other} (named {@code name}) has this tensor's shape and layout. */
    void requireSameShape(String thisName, String name, Tensor other) {
        if (other == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (!Arrays.equals(shape, other.shape) || layout != other.layout) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(other.shape) + " "
                    + other.layout + ", but " + thisName + " has " + Arrays.toString(shape) + " " + layout);
        }
    }

    /** Rejects a channels-last tensor for an operation that has no channels-last form. */
    void requireChannelsFirst(String operation) {
        if (layout != Layout.CHANNELS_FIRST) {
            throw new IllegalArgumentException(operation + " takes channels-first tensors, got " + layout);
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + layout + " at " + offset + " of float[" + data.length + "]";
    }
}
