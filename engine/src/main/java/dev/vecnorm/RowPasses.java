package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ForkJoinPool;

/**
 * The passes of LayerNorm (centered rows) and RMSNorm (uncentered) over R rows of D floats, on arrays or on
 * MemorySegments; the callers have validated every argument. One body serves both operations and both kinds of
 * storage, so that they cannot drift apart.
 *
 * <p>Forward: row blocks of {@link RowBlocks#forward} (about 64K elements), each its statistics and then its
 * normalize with gamma and beta while the block is in L2. Backward: the fixed blocks of {@link RowBlocks#backward},
 * each with its own dgamma/dbeta partials, added in block order. Segments run the same block code on rows staged
 * through per-thread heap buffers (copied in, computed, copied out): the same arithmetic in the same order, so
 * the bits of the array path; a forward block is staged whole (it is the block that stays in L2 anyway), a
 * backward block in chunks of about {@value #STAGED_ELEMENTS} elements, whose rows are added to the block's
 * partials in the same order. A segment confined to the calling thread keeps the call on that thread.
 *
 * <p>What the staging costs (RowSegmentBenchmark, 1 thread, Zen 5, 2026-12-04; native segments against float[]):
 * forward 2048x4096 3.08 vs 2.57 ms, 4096x768 and 1x4096 the same within noise; backward 2048x4096 5.8 vs 5.7 ms,
 * 4096x768 2.1 vs 1.2 ms. Direct segment kernels for the rows (as BatchNorm's element-wise passes have) would
 * remove it; not written yet.
 */
final class RowPasses {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Forward rows of at most this many floats (4 KB) are done one at a time: see {@link #forwardBlock}. */
    static final int ROW_BY_ROW_WIDTH = 1024;

    /** Elements per staged backward chunk and tensor: three buffers of 64 KB stay in L2 with the partials. */
    static final int STAGED_ELEMENTS = 1 << 14;

    private final BatchNormKernels kernels;
    /** Where blocks run; null: on the calling thread. */
    private final ForkJoinPool pool;
    /** LayerNorm: rows centered on their mean; RMSNorm: not (divided by the root mean square). */
    private final boolean centered;

    RowPasses(BatchNormKernels kernels, ForkJoinPool pool, boolean centered) {
        this.kernels = kernels;
        this.pool = pool;
        this.centered = centered;
    }

    BatchNormKernels kernels() {
        return kernels;
    }

    /** Per-task arrays of one block's row statistics, reused per thread (a call allocates none in steady state). */
    private static final class BlockScratch implements PerThreadScratch.Sized {
        final double[] mean;
        final double[] variance;
        final float[] centerHi;
        final float[] centerLo;
        final float[] scale;

        BlockScratch(int rows) {
            mean = new double[rows];
            variance = new double[rows];
            centerHi = new float[rows];
            centerLo = new float[rows];
            scale = new float[rows];
        }

        @Override
        public boolean fits(int unused, int rows) {
            return mean.length >= rows;
        }
    }

    private static final PerThreadScratch<BlockScratch> BLOCK_SCRATCH =
            new PerThreadScratch<>((unused, rows) -> new BlockScratch(rows));

    // ------------------------------------------------------------------------------------------------------
    // forward

    /** Forward on arrays; {@code saveMean} is LayerNorm's only (null for RMSNorm). */
    void forward(RowNormalization rn, float[] x, int xOffset, float[] y, int yOffset, float[] gamma, float[] beta,
            double eps, float[] saveMean, float[] saveInvStd) {
        RowBlocks blocks = RowBlocks.forward(rn);
        if (ParallelUnits.onCallingThread(pool, blocks.count(), rn.elements())) {
            forwardBlocks(blocks, 0, 1, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd);
        } else {
            ParallelUnits.run(pool, blocks.count(), rn.elements(), (first, stride) -> forwardBlocks(blocks, first,
                    stride, x, xOffset, y, yOffset, gamma, beta, eps, saveMean, saveInvStd));
        }
    }

    /** Blocks first, first + stride, ... of the forward on arrays, with this thread's block scratch. */
    private void forwardBlocks(RowBlocks blocks, int first, int stride, float[] x, int xOffset, float[] y,
            int yOffset, float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        int width = blocks.width();
        BlockScratch scratch = BLOCK_SCRATCH.acquire(0, blocks.rowsPerBlock());
        try {
            for (int block = first; block < blocks.count(); block += stride) {
                int r0 = blocks.first(block);
                int at = r0 * width;
                forwardBlock(scratch, r0, blocks.end(block) - r0, width, x, xOffset + at, y, yOffset + at, gamma,
                        beta, eps, saveMean, saveInvStd);
            }
        } finally {
            BLOCK_SCRATCH.release(scratch);
        }
    }

    /** Forward on segments: each block staged whole, normalized in place in the buffer, copied out. */
    void forward(RowNormalization rn, MemorySegment x, long xOffset, MemorySegment y, long yOffset, float[] gamma,
            float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        RowBlocks blocks = RowBlocks.forward(rn);
        int width = rn.width();
        ForkJoinPool where = SegmentPasses.shareable(x, y) ? pool : null;
        ParallelUnits.run(where, blocks.count(), rn.elements(), (first, stride) -> {
            BlockScratch scratch = BLOCK_SCRATCH.acquire(0, blocks.rowsPerBlock());
            try {
                for (int block = first; block < blocks.count(); block += stride) {
                    int r0 = blocks.first(block);
                    int r = blocks.end(block) - r0;
                    long at = (long) r0 * width;
                    float[] staged = Staging.copyIn(0, x, xOffset + at, r * width);
                    forwardBlock(scratch, r0, r, width, staged, 0, staged, 0, gamma, beta, eps, saveMean,
                            saveInvStd);
                    MemorySegment.copy(staged, 0, y, FLOAT, (yOffset + at) * Float.BYTES, r * width);
                }
            } finally {
                BLOCK_SCRATCH.release(scratch);
            }
        });
    }

    /**
     * Rows [r0, r0 + r) of a block: rows of up to {@value #ROW_BY_ROW_WIDTH} floats one at a time (statistics, then
     * normalize while the row is in L1), wider rows all at once (statistics of the block, then its normalize from
     * L2). Row by row, LayerNorm 4096x768 ran 0.77-1.0 ms against 1.0-1.2 for the whole block and 16384x768 (from
     * memory) 4.1-4.5 against 6.0-6.3; at 2048 and 4096 floats per row the block was as fast or faster (1536x2048
     * 1.1-1.4 vs 1.4-1.7 ms, 2048x4096 4.0-4.4 vs 4.8-5.2). Scratch harness, fresh JVMs, Zen 5, 2026-12-04.
     */
    private void forwardBlock(BlockScratch s, int r0, int r, int width, float[] x, int xAt, float[] y, int yAt,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        int step = width <= ROW_BY_ROW_WIDTH ? 1 : r;
        for (int k = 0; k < r; k += step) {
            forwardRows(s, r0 + k, Math.min(step, r - k), width, x, xAt + k * width, y, yAt + k * width, gamma,
                    beta, eps, saveMean, saveInvStd);
        }
    }

    /** Rows [r0, r0 + r): statistics, then normalize with the element-wise affine. */
    private void forwardRows(BlockScratch s, int r0, int r, int width, float[] x, int xAt, float[] y, int yAt,
            float[] gamma, float[] beta, double eps, float[] saveMean, float[] saveInvStd) {
        kernels.moments(x, xAt, 1, r, width, 0, r, s.mean, s.variance);
        for (int k = 0; k < r; k++) {
            if (centered) {
                s.centerHi[k] = (float) s.mean[k];
                s.centerLo[k] = (float) (s.mean[k] - s.centerHi[k]);
                s.scale[k] = (float) (1.0 / Math.sqrt(s.variance[k] + eps));
            } else {
                // mean(x^2) = var + mean^2: two non-negative terms, no cancellation. The center is 0 (set: the
                // scratch is reused, and a LayerNorm call may have left centers in it).
                s.centerHi[k] = 0f;
                s.centerLo[k] = 0f;
                s.scale[k] = (float) (1.0 / Math.sqrt(s.variance[k] + s.mean[k] * s.mean[k] + eps));
            }
            if (saveMean != null) {
                saveMean[r0 + k] = s.centerHi[k];
            }
            if (saveInvStd != null) {
                saveInvStd[r0 + k] = s.scale[k];
            }
        }
        kernels.normalizeRows(x, xAt, y, yAt, r, width, s.centerHi, s.centerLo, s.scale, gamma, beta);
    }

    // ------------------------------------------------------------------------------------------------------
    // backward

    /**
     * Backward on arrays, in double (kernels.rowGradients): g = dy * gamma must not be rounded to float, since dx
     * is a difference of terms up to 1e4 times larger than itself on offset data. {@code mean} is null for
     * RMSNorm (the uncentered form).
     */
    void backward(RowNormalization rn, float[] dy, int dyOffset, float[] x, int xOffset, float[] gamma,
            float[] mean, float[] invStd, float[] dx, int dxOffset, float[] dgamma, float[] dbeta) {
        RowBlocks blocks = RowBlocks.backward(rn);
        int d = rn.width();
        try (Workspace ws = Workspace.acquire()) {
            int dbetaAt = dbeta == null ? -1 : BatchNormKernels.dbetaOffset(d);
            double[][] cols = ws.sliceRows(Workspace.SliceRows.COLUMN_SUMS, blocks.count(), columns(d, dbetaAt));
            if (ParallelUnits.onCallingThread(pool, blocks.count(), 2L * rn.elements())) {
                backwardBlocks(blocks, 0, 1, dy, dyOffset, x, xOffset, gamma, mean, invStd, dx, dxOffset, cols,
                        dbetaAt);
            } else {
                ParallelUnits.run(pool, blocks.count(), 2L * rn.elements(), (first, stride) -> backwardBlocks(blocks,
                        first, stride, dy, dyOffset, x, xOffset, gamma, mean, invStd, dx, dxOffset, cols, dbetaAt));
            }
            RowBlocks.store(cols, blocks.count(), 0, dgamma);
            RowBlocks.store(cols, blocks.count(), dbetaAt, dbeta);
        }
    }

    /** Blocks first, first + stride, ... of the backward on arrays, each into its own column partials. */
    private void backwardBlocks(RowBlocks blocks, int first, int stride, float[] dy, int dyOffset, float[] x,
            int xOffset, float[] gamma, float[] mean, float[] invStd, float[] dx, int dxOffset, double[][] cols,
            int dbetaAt) {
        int d = blocks.width();
        for (int block = first; block < blocks.count(); block += stride) {
            int r0 = blocks.first(block);
            int at = r0 * d;
            clearPartials(cols[block], dbetaAt, d);
            kernels.rowGradients(dy, dyOffset + at, x, xOffset + at, dx, dxOffset + at, blocks.end(block) - r0, d,
                    gamma, mean, invStd, r0, cols[block], dbetaAt);
        }
    }

    /** Length of a block's column partials: dgamma's d sums, then dbeta's from dbetaAt (none if negative). */
    private static int columns(int d, int dbetaAt) {
        return dbetaAt < 0 ? d : dbetaAt + d;
    }

    /** Zeroes a block's column partials (the kernel adds to them; the workspace rows hold an earlier call's). */
    private static void clearPartials(double[] cols, int dbetaAt, int d) {
        java.util.Arrays.fill(cols, 0, d, 0.0);
        if (dbetaAt >= 0) {
            java.util.Arrays.fill(cols, dbetaAt, dbetaAt + d, 0.0);
        }
    }

    /** Backward on segments: each block's rows staged in chunks, added to the block's partials in row order. */
    void backward(RowNormalization rn, MemorySegment dy, long dyOffset, MemorySegment x, long xOffset,
            float[] gamma, float[] mean, float[] invStd, MemorySegment dx, long dxOffset, float[] dgamma,
            float[] dbeta) {
        RowBlocks blocks = RowBlocks.backward(rn);
        int d = rn.width();
        int chunkRows = Math.max(1, STAGED_ELEMENTS / d);
        try (Workspace ws = Workspace.acquire()) {
            int dbetaAt = dbeta == null ? -1 : BatchNormKernels.dbetaOffset(d);
            double[][] cols = ws.sliceRows(Workspace.SliceRows.COLUMN_SUMS, blocks.count(), columns(d, dbetaAt));
            backwardStaged(rn, blocks, chunkRows, dy, dyOffset, x, xOffset, gamma, mean, invStd, dx, dxOffset, cols,
                    dbetaAt);
            RowBlocks.store(cols, blocks.count(), 0, dgamma);
            RowBlocks.store(cols, blocks.count(), dbetaAt, dbeta);
        }
    }

    /** The segment backward's blocks, staged chunk by chunk, into the blocks' column partials. */
    private void backwardStaged(RowNormalization rn, RowBlocks blocks, int chunkRows, MemorySegment dy,
            long dyOffset, MemorySegment x, long xOffset, float[] gamma, float[] mean, float[] invStd,
            MemorySegment dx, long dxOffset, double[][] cols, int dbetaAt) {
        int d = rn.width();
        ForkJoinPool where = SegmentPasses.shareable(dy, x, dx) ? pool : null;
        ParallelUnits.run(where, blocks.count(), 2L * rn.elements(), (first, stride) -> {
            for (int block = first; block < blocks.count(); block += stride) {
                clearPartials(cols[block], dbetaAt, d);
                for (int r0 = blocks.first(block); r0 < blocks.end(block); r0 += chunkRows) {
                    int r = Math.min(chunkRows, blocks.end(block) - r0);
                    int length = r * d;
                    long at = (long) r0 * d;
                    float[] stagedDy = Staging.copyIn(0, dy, dyOffset + at, length);
                    float[] stagedX = Staging.copyIn(1, x, xOffset + at, length);
                    float[] stagedDx = dx == null ? null : Staging.buffer(2, length);
                    kernels.rowGradients(stagedDy, 0, stagedX, 0, stagedDx, 0, r, d, gamma, mean, invStd, r0,
                            cols[block], dbetaAt);
                    if (dx != null) {
                        MemorySegment.copy(stagedDx, 0, dx, FLOAT, (dxOffset + at) * Float.BYTES, length);
                    }
                }
            }
        });
    }
}
