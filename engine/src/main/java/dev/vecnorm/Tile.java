package dev.vecnorm;

/**
 * A rectangle of work: channels [c0, c1) of batch entries [n0, n1), slice number {@code slice} along N. How a
 * tensor is cut into tiles depends on its shape only, never on the thread count: that fixes the reduction tree.
 */
record Tile(int c0, int c1, int n0, int n1, int slice) {
    /** Offset of the tile's first batch entry in a dense tensor of the shape. */
    int offset(NcsShape sh) {
        return n0 * sh.c() * sh.s();
    }

    /** Work done on one tile; it must depend on the tile's data only, never on the thread that runs it. */
    interface Work {
        void run(Tile tile);
    }
}
