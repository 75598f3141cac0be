package dev.vecnorm.internal.kernels;

/**
 * How the across-positions loops lay out the per-position rows they keep side by side in one scratch array
 * (coefficients such as center, scale and shift, or a center and two sums): row k starts at {@code k * stride},
 * and the stride puts consecutive rows about a third of a 4 KiB page apart modulo the page, never a multiple of
 * 1 KiB apart as rows of 256, 512 or 1024 channels laid end to end are.
 *
 * <p>Why: every vector step loads (and for sums, stores) the same offset q of each row while x (and y or dy)
 * stream past; with rows a multiple of 1 KiB apart those accesses meet at the same addresses modulo a page
 * (most likely costly as false store-to-load dependencies and shared L1 sets; the measurements are what count).
 * Measured on Zen 5 from DRAM (scratch harness, interleaved variants, best of 15-25 rounds, 2026-12-04):
 * the normalize loop (three float rows) 25088 rows of 512: 4.3 -> 3.9 ms, 100352 rows of 256: 7.9 -> 7.2 ms,
 * 6272 rows of 1024: 1.6 -> 1.35 ms, for every placement of x tried; the backward sums (three double rows)
 * 25088 rows of 512: 5.2 -> 4.35 ms, 100352 rows of 256: 9.8 -> 8.5 ms. Coefficients interleaved vector by
 * vector in one row were slower than either (4.9 ms at 512). End to end, best per fresh JVM over three JVMs
 * each: channels-last 32x28x28x512 training 7.9-8.8 -> 6.4-7.5 ms, inference 4.8-4.9 -> 3.9-4.1 ms, backward
 * 11.0-12.0 -> 9.9-10.7 ms; 32x56x56x256, 32x7x7x2048, 256x1024 and 256x4096 unchanged within the noise. The
 * padding between rows is never touched, so it costs address space, not cache.
 */
final class StaggeredRows {

    private static final int PAGE_BYTES = 4096;

    /** 21 cache lines: consecutive rows start this many bytes apart modulo a page, three rows spread over it. */
    private static final int STAGGER_BYTES = 21 * 64;

    private StaggeredRows() {
    }

    /**
     * The smallest stride (in elements of {@code elementBytes}, a power of two up to 8) at least {@code width}
     * whose byte length is {@value #STAGGER_BYTES} modulo a page.
     */
    static int stride(int width, int elementBytes) {
        int perPage = PAGE_BYTES / elementBytes;
        return width + Math.floorMod(STAGGER_BYTES / elementBytes - width, perPage);
    }
}
