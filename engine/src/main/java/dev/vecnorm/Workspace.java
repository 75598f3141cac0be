package dev.vecnorm;

/**
 * Per-thread working arrays for the per-channel quantities of one call (means, scales, sums...) so that a call in steady state allocates nothing proportional to C. Contents are not
 * preserved between calls. A call that finds its thread's workspace busy (a pool worker that runs another call
 * while it waits in a join) gets a fresh one, so workspaces are never shared.
 */
final class Workspace implements AutoCloseable {

    private static final ThreadLocal<Workspace> OWN = ThreadLocal.withInitial(Workspace::new);

    private boolean inUse;
    private final double[][] doubles = new double[6][0];
    private final float[][] floats = new float[5][0];

    private Workspace() {
    }

    /** The calling thread's workspace, or a fresh one if it is already in use; close it when done. */
    static Workspace acquire() {
        Workspace own = OWN.get();
        Workspace w = own.inUse ? new Workspace() : own;
        w.inUse = true;
        return w;
    }

    @Override
    public void close() {
        inUse = false;
    }

    /** A double array of at least {@code length}; contents unspecified. */
    double[] doubles(int slot, int length) {
        if (doubles[slot].length < length) {
            doubles[slot] = new double[length];
        }
        return doubles[slot];
    }

    /** A float array of at least {@code length}; contents unspecified. */
    float[] floats(int slot, int length) {
        if (floats[slot].length < length) {
            floats[slot] = new float[length];
        }
        return floats[slot];
    }

    /** A float array of at least {@code length} whose first {@code length} values are zero. */
    float[] zeroedFloats(int slot, int length) {
        float[] a = floats(slot, length);
        java.util.Arrays.fill(a, 0, length, 0f);
        return a;
    }
}
