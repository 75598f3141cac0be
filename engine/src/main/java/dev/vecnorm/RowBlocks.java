package dev.vecnorm;

/**
 * How LayerNorm and RMSNorm cut their rows into blocks of consecutive rows, the units they spread over threads.
 * The blocks are a function of the shape alone, never of the thread count, so the results are bitwise the same
 * on any number of threads.
 */
record RowBlocks(int rows, int width, int rowsPerBlock) {

    /** Elements per forward block: 256 KB of x, which stays in a 1 MB L2 while three passes walk it. */
    private static final int FORWARD_BLOCK_ELEMENTS = 1 << 16;

    /** Elements per backward block at least, and the most blocks, whose gradient partials are then summed. */
    private static final int BACKWARD_BLOCK_ELEMENTS = 1 << 18;
    private static final int MAX_BACKWARD_BLOCKS = 16;

    /**
     * Forward: blocks of about {@link #FORWARD_BLOCK_ELEMENTS}, so that statistics, normalize and the element-wise
     * affine read x from memory once and then from cache (before, three passes over the whole tensor). Rows are
     * independent, so the blocking does not change any bit.
     */
    static RowBlocks forward(RowNormalization rn) {
        return new RowBlocks(rn.rows(), rn.width(), Math.max(1, FORWARD_BLOCK_ELEMENTS / rn.width()));
    }

    /**
     * Backward: at most {@link #MAX_BACKWARD_BLOCKS} blocks of at least {@link #BACKWARD_BLOCK_ELEMENTS}: each
     * keeps its own column sums of dgamma and dbeta, added in block order afterwards (a few KB per block).
     */
    static RowBlocks backward(RowNormalization rn) {
        long blocks = Math.clamp(rn.elements() / BACKWARD_BLOCK_ELEMENTS, 1, MAX_BACKWARD_BLOCKS);
        int perBlock = (int) ((rn.rows() + blocks - 1) / blocks);
        return new RowBlocks(rn.rows(), rn.width(), Math.max(1, perBlock));
    }

    int count() {
        return (rows + rowsPerBlock - 1) / rowsPerBlock;
    }

    int first(int block) {
        return block * rowsPerBlock;
    }

    int end(int block) {
        return Math.min(rows, (block + 1) * rowsPerBlock);
    }

    /**
     * {@code into[j] = sum over blocks [0, count), in block order, of partials[block][at + j]} as float; nothing
     * if into is null.
     */
    static void store(double[][] partials, int count, int at, float[] into) {
        if (into == null) {
            return;
        }
        for (int j = 0; j < into.length; j++) {
            double sum = partials[0][at + j];
            for (int block = 1; block < count; block++) {
                sum += partials[block][at + j];
            }
            into[j] = (float) sum;
        }
    }
}
