package dev.vecnorm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-thread heap buffers through which the family's MemorySegment overloads stage rows or samples (copied in,
 * run through the array code, copied out), grown on demand and reused: no allocation per call in steady state.
 */
final class Staging {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<float[][]> OWN = ThreadLocal.withInitial(() -> new float[3][0]);

    private Staging() {
    }

    /** The calling thread's buffer {@code which} (0, 1 or 2: one per staged tensor), at least {@code length}. */
    static float[] buffer(int which, int length) {
        float[][] buffers = OWN.get();
        if (buffers[which].length < length) {
            buffers[which] = new float[length];
        }
        return buffers[which];
    }

    /** {@code length} floats of {@code from} starting at float {@code offset}, copied into buffer {@code which}. */
    static float[] copyIn(int which, MemorySegment from, long offset, int length) {
        float[] buffer = buffer(which, length);
        MemorySegment.copy(from, FLOAT, offset * Float.BYTES, buffer, 0, length);
        return buffer;
    }
}
