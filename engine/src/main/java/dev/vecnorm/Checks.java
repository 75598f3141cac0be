package dev.vecnorm;

import java.util.ArrayList;
import java.util.List;

/** Argument validation shared by the functional API and the layer. Every check runs before any write. */
final class Checks {

    private Checks() {
    }

    static void epsilon(double eps) {
        if (!(eps >= 0.0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and >= 0, got " + eps);
        }
    }

    static void tensor(String name, float[] data, int offset, NcsShape shape) {
        if (data == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (offset < 0) {
            throw new IllegalArgumentException(name + " offset must be >= 0, got " + offset);
        }
        long end = (long) offset + shape.size();
        if (end > data.length) {
            throw new IllegalArgumentException(name + " offset " + offset + " + size " + shape.size() + " of shape "
                    + shape + " runs past its length " + data.length);
        }
    }

    /**
     * An array of one value per {@code unit} (e.g. "one per row"): required unless {@code optional}, and of length
     * exactly {@code expected} when present. For the family, whose statistics are not per channel.
     */
    static void length(String name, float[] data, int expected, String unit, boolean optional) {
        exactLength(name, data, expected, optional, unit);
    }

    /** A per-channel array: required unless {@code optional}, and of length exactly C when present. */
    static void channels(String name, float[] data, int c, boolean optional) {
        exactLength(name, data, c, optional, null);
    }

    /** The message is built only on failure (these checks run on every call): "C = 4", or "24 (one per row)". */
    private static void exactLength(String name, float[] data, int expected, boolean optional, String unit) {
        if (data == null) {
            if (optional) {
                return;
            }
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (data.length != expected) {
            throw new IllegalArgumentException(name + " has length " + data.length + ", expected "
                    + (unit == null ? "C = " + expected : expected + " (" + unit + ")"));
        }
    }

    /** A tensor in a segment: {@code elements} floats from element {@code offset}, writable if written. */
    static void segment(String name, java.lang.foreign.MemorySegment segment, long offset, long elements,
            boolean written) {
        if (segment == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (offset < 0) {
            throw new IllegalArgumentException(name + " offset must be >= 0, got " + offset);
        }
        long floats = segment.byteSize() / Float.BYTES;
        if (offset > floats || elements > floats - offset) {
            throw new IllegalArgumentException(name + " offset " + offset + " + size " + elements
                    + " runs past its " + floats + " floats (" + segment.byteSize() + " bytes)");
        }
        if (written && segment.isReadOnly()) {
            throw new IllegalArgumentException(name + " is a read-only segment");
        }
    }

    /**
     * The tensors of a forward on segments: x readable and y writable over {@code elements} floats, y overlapping x
     * only as the very same range (in place).
     */
    static void segmentForward(java.lang.foreign.MemorySegment x, long xOffset, java.lang.foreign.MemorySegment y,
            long yOffset, long elements) {
        segment("x", x, xOffset, elements, false);
        segment("y", y, yOffset, elements, true);
        segmentOverlap("y", y, yOffset, "x", x, xOffset, elements, true);
    }

    /**
     * The tensors of a backward on segments: dy and x readable over {@code elements} floats, dx (when given)
     * writable and overlapping neither, except the very same range where {@code inPlace} allows it.
     */
    static void segmentGradients(java.lang.foreign.MemorySegment dy, long dyOffset,
            java.lang.foreign.MemorySegment x, long xOffset, java.lang.foreign.MemorySegment dx, long dxOffset,
            long elements, boolean inPlace) {
        segment("dy", dy, dyOffset, elements, false);
        segment("x", x, xOffset, elements, false);
        if (dx != null) {
            segment("dx", dx, dxOffset, elements, true);
            segmentOverlap("dx", dx, dxOffset, "dy", dy, dyOffset, elements, inPlace);
            segmentOverlap("dx", dx, dxOffset, "x", x, xOffset, elements, inPlace);
        }
    }

    /**
     * Rejects an output segment range that overlaps an input range, unless they are the same range and that
     * aliasing is allowed (element-wise in place).
     */
    static void segmentOverlap(String output, java.lang.foreign.MemorySegment out, long outOffset, String input,
            java.lang.foreign.MemorySegment in, long inOffset, long elements, boolean inPlaceAllowed) {
        if (out == null || in == null) {
            return;
        }
        java.lang.foreign.MemorySegment a = out.asSlice(outOffset * Float.BYTES, elements * Float.BYTES);
        java.lang.foreign.MemorySegment b = in.asSlice(inOffset * Float.BYTES, elements * Float.BYTES);
        java.util.Optional<java.lang.foreign.MemorySegment> overlap = a.asOverlappingSlice(b);
        if (overlap.isEmpty()) {
            return;
        }
        // Equal lengths overlapping completely from both sides: the very same range.
        boolean same = overlap.get().byteSize() == a.byteSize()
                && b.asOverlappingSlice(a).orElseThrow().byteSize() == b.byteSize();
        if (!(same && inPlaceAllowed)) {
            throw new IllegalArgumentException(output + " (offset " + outOffset + ", length " + elements
                    + ") overlaps " + input + " (offset " + inOffset + ") in memory"
                    + (same ? "; that aliasing is not allowed here" : ""));
        }
    }

    /**
     * Every value finite-or-+infinity and >= 0 (a variance, an inverse std): a negative or NaN one would turn
     * into NaN outputs without a word.
     */
    static void nonNegative(String name, float[] values) {
        if (values == null) {
            return;
        }
        for (int k = 0; k < values.length; k++) {
            if (!(values[k] >= 0)) {
                throw new IllegalArgumentException(name + "[" + k + "] must be >= 0, got " + values[k]);
            }
        }
    }

    static void moreThanOneValuePerChannel(int[] dims, long perChannel) {
        if (perChannel < 2) {
            throw new IllegalArgumentException("Expected more than 1 value per channel when training, got input shape "
                    + java.util.Arrays.toString(dims));
        }
    }

    /** The calling thread's overlap check, emptied: checks run on every call and allocate nothing. */
    static Regions regions() {
        return REGIONS.get().clear();
    }

    private static final ThreadLocal<Regions> REGIONS = ThreadLocal.withInitial(Regions::new);

    /**
     * Overlap checks between the regions a call reads and writes. An output may coincide exactly with an input
     * that is declared as a permitted in-place partner; any other overlap is rejected. Regions are kept in
     * parallel arrays, reused call after call (see {@link #regions()}).
     */
    static final class Regions {
        private static final int CAPACITY = 16;

        private final String[] names = new String[CAPACITY];
        private final float[][] arrays = new float[CAPACITY][];
        private final int[] offsets = new int[CAPACITY];
        private final int[] lengths = new int[CAPACITY];
        private final boolean[] outputs = new boolean[CAPACITY];
        private int count;
        private final String[] inPlaceOutputs = new String[CAPACITY];
        private final String[] inPlaceInputs = new String[CAPACITY];
        private int pairs;

        Regions clear() {
            java.util.Arrays.fill(arrays, 0, count, null);
            count = 0;
            pairs = 0;
            return this;
        }

        Regions input(String name, float[] array, int offset, int length) {
            return add(name, array, offset, length, false);
        }

        Regions input(String name, float[] array) {
            return array == null ? this : input(name, array, 0, array.length);
        }

        Regions output(String name, float[] array, int offset, int length) {
            return add(name, array, offset, length, true);
        }

        Regions output(String name, float[] array) {
            return array == null ? this : output(name, array, 0, array.length);
        }

        private Regions add(String name, float[] array, int offset, int length, boolean output) {
            if (array != null) {
                names[count] = name;
                arrays[count] = array;
                offsets[count] = offset;
                lengths[count] = length;
                outputs[count] = output;
                count++;
            }
            return this;
        }

        /** {@code output} may be exactly {@code input} (element-wise in place). */
        Regions inPlace(String output, String input) {
            inPlaceOutputs[pairs] = output;
            inPlaceInputs[pairs] = input;
            pairs++;
            return this;
        }

        void check() {
            try {
                for (int i = 0; i < count; i++) {
                    for (int j = i + 1; j < count; j++) {
                        if (!(outputs[i] || outputs[j]) || !overlaps(i, j)) {
                            continue;
                        }
                        if (sameAs(i, j) && permitted(names[i], names[j])) {
                            continue;
                        }
                        reject(outputs[i] ? i : j, outputs[i] ? j : i);
                    }
                }
            } finally {
                clear();
            }
        }

        private boolean overlaps(int a, int b) {
            return arrays[a] == arrays[b]
                    && offsets[a] < offsets[b] + lengths[b] && offsets[b] < offsets[a] + lengths[a];
        }

        private boolean sameAs(int a, int b) {
            return arrays[a] == arrays[b] && offsets[a] == offsets[b] && lengths[a] == lengths[b];
        }

        /** Names the written region first: "y (...) overlaps x (...)". */
        private void reject(int written, int other) {
            throw new IllegalArgumentException(names[written] + " (offset " + offsets[written] + ", length "
                    + lengths[written] + ") overlaps " + names[other] + " (offset " + offsets[other] + ", length "
                    + lengths[other] + ") in the same array"
                    + (sameAs(written, other) ? "; that aliasing is not allowed here" : ""));
        }

        private boolean permitted(String a, String b) {
            for (int k = 0; k < pairs; k++) {
                if ((inPlaceOutputs[k].equals(a) && inPlaceInputs[k].equals(b))
                        || (inPlaceOutputs[k].equals(b) && inPlaceInputs[k].equals(a))) {
                    return true;
                }
            }
            return false;
        }
    }
}
