package dev.vecnorm.testing;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Where a test tensor lives when it is handed over as a MemorySegment: each kind takes another code path. */
public enum SegmentStorage {
    /** Off-heap, 64-byte aligned. */
    NATIVE,
    /** Off-heap, one byte off float alignment. */
    MISALIGNED,
    /** A heap segment over a float[] (the array path runs on it). */
    HEAP_FLOATS,
    /** A heap segment over a byte[] (not a float[]: staged like off-heap memory). */
    HEAP_BYTES;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** A segment of this kind holding {@code offset} NaNs, then {@code values}. */
    public MemorySegment place(Arena arena, float[] values, int offset) {
        long bytes = (long) (offset + values.length) * Float.BYTES;
        MemorySegment segment = switch (this) {
            case NATIVE -> arena.allocate(bytes, 64);
            case MISALIGNED -> arena.allocate(bytes + 8, 64).asSlice(1, bytes);
            case HEAP_FLOATS -> MemorySegment.ofArray(new float[offset + values.length]);
            case HEAP_BYTES -> MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
        };
        for (int i = 0; i < offset; i++) {
            segment.setAtIndex(FLOAT, i, Float.NaN);
        }
        MemorySegment.copy(values, 0, segment, FLOAT, (long) offset * Float.BYTES, values.length);
        return segment;
    }

    /** {@code length} floats of {@code segment} from float {@code offset}. */
    public static float[] read(MemorySegment segment, int offset, int length) {
        float[] out = new float[length];
        MemorySegment.copy(segment, FLOAT, (long) offset * Float.BYTES, out, 0, length);
        return out;
    }
}
