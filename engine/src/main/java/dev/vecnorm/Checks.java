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

    /** A per-channel array: required unless {@code optional}, and of length exactly C when present. */
    static void channels(String name, float[] data, int c, boolean optional) {
        if (data == null) {
            if (optional) {
                return;
            }
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (data.length != c) {
            throw new IllegalArgumentException(name + " has length " + data.length + ", expected C = " + c);
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

    static void moreThanOneValuePerChannel(int[] dims, long perChannel) {
        if (perChannel < 2) {
            throw new IllegalArgumentException("Expected more than 1 value per channel when training, got input shape "
                    + java.util.Arrays.toString(dims));
        }
    }

    /**
     * Overlap checks between the regions a call reads and writes. An output may coincide exactly with an input
     * that is declared as a permitted in-place partner; any other overlap is rejected.
     */
    static final class Regions {
        private record Region(String name, float[] array, int offset, int length, boolean output) {
            boolean overlaps(Region other) {
                return array == other.array
                        && offset < other.offset + other.length && other.offset < offset + length;
            }

            boolean sameAs(Region other) {
                return array == other.array && offset == other.offset && length == other.length;
            }
        }

        private final List<Region> regions = new ArrayList<>();
        private final List<String[]> inPlacePairs = new ArrayList<>();

        Regions input(String name, float[] array, int offset, int length) {
            if (array != null) {
                regions.add(new Region(name, array, offset, length, false));
            }
            return this;
        }

        Regions input(String name, float[] array) {
            return array == null ? this : input(name, array, 0, array.length);
        }

        Regions output(String name, float[] array, int offset, int length) {
            if (array != null) {
                regions.add(new Region(name, array, offset, length, true));
            }
            return this;
        }

        Regions output(String name, float[] array) {
            return array == null ? this : output(name, array, 0, array.length);
        }

        /** {@code output} may be exactly {@code input} (element-wise in place). */
        Regions inPlace(String output, String input) {
            inPlacePairs.add(new String[] {output, input});
            return this;
        }

        void check() {
            for (int i = 0; i < regions.size(); i++) {
                Region a = regions.get(i);
                for (int j = i + 1; j < regions.size(); j++) {
                    Region b = regions.get(j);
                    if (!(a.output || b.output) || !a.overlaps(b)) {
                        continue;
                    }
                    if (a.sameAs(b) && permitted(a, b)) {
                        continue;
                    }
                    reject(a.output ? a : b, a.output ? b : a);
                }
            }
        }

        /** Names the written region first: "y (...) overlaps x (...)". */
        private static void reject(Region written, Region other) {
            throw new IllegalArgumentException(written.name + " (offset " + written.offset + ", length "
                    + written.length + ") overlaps " + other.name + " (offset " + other.offset + ", length "
                    + other.length + ") in the same array"
                    + (written.sameAs(other) ? "; that aliasing is not allowed here" : ""));
        }

        private boolean permitted(Region a, Region b) {
            for (String[] pair : inPlacePairs) {
                if ((pair[0].equals(a.name) && pair[1].equals(b.name))
                        || (pair[0].equals(b.name) && pair[1].equals(a.name))) {
                    return true;
                }
            }
            return false;
        }
    }
}
