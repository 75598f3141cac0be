package dev.vecnorm;

import java.util.List;

/**
 * A per-thread cache of the last few tile plans: a layer called in a loop on the same shape makes its plan
 * once. Plans are immutable lists that depend on the shape only, safe to hand to pool workers.
 */
final class TilePlans {

    private static final int SIZE = 8;
    private static final ThreadLocal<TilePlans> OWN = ThreadLocal.withInitial(TilePlans::new);

    /** What a plan is for: the rows/channels tiles of a statistics pass, or a streaming pass. */
    enum Kind { BLOCKS, STREAM }

    private final long[] keys = new long[2 * SIZE];
    @SuppressWarnings("unchecked")
    private final List<Tile>[] plans = new List[SIZE];
    private int next;

    private TilePlans() {
    }

    static List<Tile> of(Kind kind, int n, int c, int s, int tensors) {
        return OWN.get().lookup(kind, n, c, s, tensors);
    }

    private List<Tile> lookup(Kind kind, int n, int c, int s, int tensors) {
        long k0 = ((long) n << 32) | (c & 0xffffffffL);
        long k1 = ((long) s << 32) | ((long) tensors << 1) | kind.ordinal();
        for (int i = 0; i < SIZE; i++) {
            if (plans[i] != null && keys[2 * i] == k0 && keys[2 * i + 1] == k1) {
                return plans[i];
            }
        }
        List<Tile> made = List.copyOf(kind == Kind.BLOCKS
                ? Tiling.tiles(n, c, s, tensors) : Tiling.streamTiles(n, c, s, tensors));
        int i = next;
        next = (next + 1) % SIZE;
        keys[2 * i] = k0;
        keys[2 * i + 1] = k1;
        plans[i] = made;
        return made;
    }
}
