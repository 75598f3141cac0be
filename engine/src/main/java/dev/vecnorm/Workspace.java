package dev.vecnorm;

/**
 * Per-thread working arrays for the per-channel quantities of one call (means, scales, sums...), one per named
 * role, so that a call in steady state allocates nothing proportional to C. Contents are not preserved between
 * calls. A call that finds its thread's workspace busy (a pool worker that runs another call
 * while it waits in a join) gets a fresh one, so workspaces are never shared.
 */
final class Workspace implements AutoCloseable {

    private static final ThreadLocal<Workspace> OWN = ThreadLocal.withInitial(Workspace::new);

    /** The per-channel double quantities of training and backward (and GroupNorm's per-sample ones). */
    enum Doubles {
        MEAN, VARIANCE, INV_STD, SUM_DY, SUM_DY_CENTERED, DY_SCALE, CENTERED_SCALE, SHIFT,
        /** GroupNorm's per-sample shares of dgamma and dbeta, N x C. */
        SAMPLE_DGAMMA, SAMPLE_DBETA
    }

    /** The per-channel float coefficients of the normalize pass. */
    enum Floats {
        CENTER_HI, CENTER_LO, SCALE, SHIFT, INV_STD
    }

    /**
     * Partial quantities of a pass cut into parts, one row per part: per-slice channel moments and sums
     * (BatchNorm), per-block column sums of dgamma and dbeta (LayerNorm, RMSNorm), per-sample ones (GroupNorm).
     */
    enum SliceRows {
        MEAN, VARIANCE, SUM_DY, SUM_DY_CENTERED,
        /** LayerNorm/RMSNorm: dgamma's column sums, then dbeta's at BatchNormKernels.dbetaOffset. */
        COLUMN_SUMS
    }

    private boolean inUse;
    private final double[][] doubles = new double[Doubles.values().length][0];
    private final float[][] floats = new float[Floats.values().length][0];
    private final double[][][] sliceRows = new double[SliceRows.values().length][0][0];

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

    /** The array for {@code role}, of at least {@code length}; contents unspecified. */
    double[] doubles(Doubles role, int length) {
        int slot = role.ordinal();
        if (doubles[slot].length < length) {
            doubles[slot] = new double[length];
        }
        return doubles[slot];
    }

    /** The array for {@code role}, of at least {@code length}; contents unspecified. */
    float[] floats(Floats role, int length) {
        int slot = role.ordinal();
        if (floats[slot].length < length) {
            floats[slot] = new float[length];
        }
        return floats[slot];
    }

    /** At least {@code slices} rows of at least {@code length} values for {@code role}; contents unspecified. */
    double[][] sliceRows(SliceRows role, int slices, int length) {
        int slot = role.ordinal();
        double[][] rows = sliceRows[slot];
        if (rows.length < slices || rows.length == 0 || rows[0].length < length) {
            int width = Math.max(length, rows.length == 0 ? 0 : rows[0].length);
            rows = new double[Math.max(slices, rows.length)][width];
            sliceRows[slot] = rows;
        }
        return rows;
    }

    /** The array for {@code role}, of at least {@code length}, whose first {@code length} values are zero. */
    float[] zeroedFloats(Floats role, int length) {
        float[] a = floats(role, length);
        java.util.Arrays.fill(a, 0, length, 0f);
        return a;
    }
}
