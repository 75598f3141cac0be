package dev.vecnorm.spark;

import dev.vecnorm.Layout;
import java.io.Serializable;
import java.util.Arrays;

/**
 * The declared shape of one row's tensor: logical dims (C, spatial...) and the memory order of the row's floats
 * ({@link Layout#CHANNELS_FIRST}: C runs of spatial values; {@link Layout#CHANNELS_LAST}: spatial positions of C
 * values each). A row of shape (3, 32, 32) holds 3072 floats; a feature vector of F values is (F).
 */
public final class TensorShape implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int[] dims;
    private final Layout layout;
    private final int rowLength;

    private TensorShape(int[] dims, Layout layout, int rowLength) {
        this.dims = dims;
        this.layout = layout;
        this.rowLength = rowLength;
    }

    /**
     * @param layout memory order of each row's floats
     * @param dims (C, spatial...): 1 to 4 positive dims whose product fits an int
     * @throws IllegalArgumentException on a null layout or a bad dims array, naming it
     */
    public static TensorShape of(Layout layout, int... dims) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        if (dims == null || dims.length < 1 || dims.length > 4) {
            throw new IllegalArgumentException("row shape must have 1 to 4 dims (C, spatial...), got "
                    + Arrays.toString(dims));
        }
        long length = 1;
        for (int d : dims) {
            if (d < 1) {
                throw new IllegalArgumentException("row shape dims must be positive, got " + Arrays.toString(dims));
            }
            length *= d;
            if (length > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("row shape " + Arrays.toString(dims) + " holds more floats than"
                        + " an array can");
            }
        }
        return new TensorShape(dims.clone(), layout, (int) length);
    }

    /** Channels-first (NCHW rows) shape. */
    public static TensorShape channelsFirst(int... dims) {
        return of(Layout.CHANNELS_FIRST, dims);
    }

    /** Channels-last (NHWC rows) shape; dims are still given as (C, spatial...). */
    public static TensorShape channelsLast(int... dims) {
        return of(Layout.CHANNELS_LAST, dims);
    }

    /** (C, spatial...), a copy. */
    public int[] dims() {
        return dims.clone();
    }

    public Layout layout() {
        return layout;
    }

    public int channels() {
        return dims[0];
    }

    /** Floats per row: the product of the dims. */
    public int rowLength() {
        return rowLength;
    }

    /** The engine's batch shape (rows, C, spatial...) for {@code rows} consecutive rows. */
    int[] batchShape(int rows) {
        int[] shape = new int[dims.length + 1];
        shape[0] = rows;
        System.arraycopy(dims, 0, shape, 1, dims.length);
        return shape;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorShape other && layout == other.layout && Arrays.equals(dims, other.dims);
    }

    @Override
    public int hashCode() {
        return 31 * layout.hashCode() + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims) + " " + layout;
    }
}
