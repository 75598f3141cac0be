package dev.vecnorm;

/**
 * Per-thread heap buffers through which the family's MemorySegment overloads stage rows or samples (copied in,
 * run through the array code, copied out), grown on demand and reused: no allocation per call in steady state.
 */
final class Staging {

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
}
