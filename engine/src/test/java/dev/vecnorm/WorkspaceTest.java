package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The per-thread reuse that keeps calls allocation-free must never hand one buffer to two users. */
@Tag("width-independent")
class WorkspaceTest {

    @Test
    void aBusyWorkspaceIsNeverSharedAndAClosedOneIsReused() {
        double[] first;
        try (Workspace outer = Workspace.acquire()) {
            first = outer.doubles(Workspace.Doubles.MEAN, 8);
            try (Workspace inner = Workspace.acquire()) {
                assertNotSame(outer, inner);
                assertNotSame(first, inner.doubles(Workspace.Doubles.MEAN, 8));
            }
        }
        try (Workspace again = Workspace.acquire()) {
            assertSame(first, again.doubles(Workspace.Doubles.MEAN, 8), "the thread's workspace is reused once closed");
            assertTrue(again.doubles(Workspace.Doubles.MEAN, 100).length >= 100);
        }
    }

    @Test
    void sliceRowsGrowToTheLargestRequestAndAreThenReused() {
        try (Workspace w = Workspace.acquire()) {
            double[][] small = w.sliceRows(Workspace.SliceRows.SUM_DY, 2, 8);
            assertTrue(small.length >= 2 && small[0].length >= 8 && small[1].length >= 8);
            double[][] wider = w.sliceRows(Workspace.SliceRows.SUM_DY, 1, 32);
            assertTrue(wider.length >= 2 && wider[0].length >= 32, "keeps the rows it had and widens them");
            double[][] taller = w.sliceRows(Workspace.SliceRows.SUM_DY, 5, 4);
            assertTrue(taller.length >= 5 && taller[4].length >= 32, "keeps the width it had and adds rows");
            assertSame(taller, w.sliceRows(Workspace.SliceRows.SUM_DY, 3, 16));
            assertNotSame(taller, w.sliceRows(Workspace.SliceRows.SUM_DY_CENTERED, 3, 16));
        }
    }

    /** A scratch object sized by its two arguments. */
    private record Sized(int groups, int c) implements PerThreadScratch.Sized {
        @Override
        public boolean fits(int g, int channels) {
            return groups >= g && c >= channels;
        }
    }

    @Test
    void perThreadScratchIsReusedWhileItFitsAndNeverHandedToTwoUsers() {
        PerThreadScratch<Sized> scratch = new PerThreadScratch<>(Sized::new);
        Sized first = scratch.acquire(4, 64);
        Sized nested = scratch.acquire(4, 64);
        assertNotSame(first, nested, "a busy thread gets a fresh object");
        scratch.release(nested);
        Sized whileFirstBusy = scratch.acquire(4, 64);
        assertNotSame(first, whileFirstBusy, "releasing a fresh object leaves the thread's own one busy");
        scratch.release(whileFirstBusy);
        scratch.release(first);
        assertSame(first, scratch.acquire(2, 32), "released and large enough: reused");
        scratch.release(first);
        Sized larger = scratch.acquire(8, 64);
        assertTrue(larger.groups() >= 8, "too small: replaced by one that fits");
        scratch.release(larger);
        assertSame(larger, scratch.acquire(8, 64));
    }

    @Test
    void zeroedFloatsAreZeroAfterAnotherCallWroteThem() {
        try (Workspace w = Workspace.acquire()) {
            java.util.Arrays.fill(w.floats(Workspace.Floats.CENTER_LO, 16), 7f);
        }
        try (Workspace w = Workspace.acquire()) {
            float[] z = w.zeroedFloats(Workspace.Floats.CENTER_LO, 16);
            for (int i = 0; i < 16; i++) {
                org.junit.jupiter.api.Assertions.assertEquals(0f, z[i], "index " + i);
            }
        }
    }

    @Test
    void aRejectedOverlapCheckLeavesTheNextOneClean() {
        float[] a = new float[10];
        assertThrows(IllegalArgumentException.class,
                () -> Checks.regions().input("x", a, 0, 10).output("y", a, 5, 5).check());
        float[] b = new float[10];
        assertDoesNotThrow(() -> Checks.regions().input("x", b, 0, 10).output("y", new float[10], 0, 10).check());
    }

    @Test
    void plansAreCachedPerShapeAndDifferAcrossKinds() {
        List<Tile> blocks = TilePlans.of(TilePlans.Kind.BLOCKS, 4, 64, 3136, 1);
        assertSame(blocks, TilePlans.of(TilePlans.Kind.BLOCKS, 4, 64, 3136, 1));
        assertTrue(blocks.equals(Tiling.tiles(4, 64, 3136, 1)));
        assertTrue(TilePlans.of(TilePlans.Kind.STREAM, 4, 64, 3136, 1)
                .equals(Tiling.streamTiles(4, 64, 3136, 1)));
        assertTrue(TilePlans.of(TilePlans.Kind.BLOCKS, 4, 64, 3136, 2).equals(Tiling.tiles(4, 64, 3136, 2)));
    }

    @Test
    void overlapChecksAreExactAtTheBoundaries() {
        float[] a = new float[20];
        // Adjacent regions share no element.
        assertDoesNotThrow(() -> Checks.regions().input("x", a, 0, 10).output("y", a, 10, 10).check());
        assertDoesNotThrow(() -> Checks.regions().output("y", a, 0, 10).input("x", a, 10, 10).check());
        assertDoesNotThrow(() -> Checks.regions().output("y", a, 10, 10).input("x", a, 0, 10).check());
        assertDoesNotThrow(() -> Checks.regions().input("x", a, 10, 10).output("y", a, 0, 10).check());
        // One shared element is an overlap, whichever region comes first; the written one is named first.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.regions().input("x", a, 0, 10).output("y", a, 9, 10).check());
        assertTrue(e.getMessage().startsWith("y (offset 9, length 10) overlaps x (offset 0, length 10)"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Checks.regions().output("y", a, 9, 10).input("x", a, 0, 10).check());
        // Two inputs may overlap.
        assertDoesNotThrow(() -> Checks.regions().input("x", a, 0, 10).input("z", a, 5, 10).check());
        // Exact aliasing is allowed only for a declared in-place pair, in either order of declaration.
        e = assertThrows(IllegalArgumentException.class,
                () -> Checks.regions().input("x", a, 0, 10).output("y", a, 0, 10).check());
        assertTrue(e.getMessage().endsWith("that aliasing is not allowed here"), e.getMessage());
        assertDoesNotThrow(() -> Checks.regions().input("x", a, 0, 10).output("y", a, 0, 10).inPlace("y", "x")
                .check());
        assertDoesNotThrow(() -> Checks.regions().output("y", a, 0, 10).input("x", a, 0, 10).inPlace("y", "x")
                .check());
        e = assertThrows(IllegalArgumentException.class, () -> Checks.regions().input("x", a, 0, 10)
                .output("y", a, 0, 10).inPlace("y", "z").check());
        assertTrue(e.getMessage().contains("not allowed"), e.getMessage());
        // A partial overlap stays an error even for an in-place pair.
        assertThrows(IllegalArgumentException.class, () -> Checks.regions().input("x", a, 0, 10)
                .output("y", a, 1, 10).inPlace("y", "x").check());
    }

    @Test
    void segmentChecksAreExactAtTheBoundaries() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(20L * Float.BYTES);
            // A region may end exactly at the end of the segment, and an empty one may start there.
            assertDoesNotThrow(() -> Checks.segment("x", seg, 10, 10, false));
            assertDoesNotThrow(() -> Checks.segment("x", seg, 20, 0, false));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checks.segment("x", seg, 11, 10, false));
            assertTrue(e.getMessage().contains("runs past its 20 floats"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Checks.segment("x", seg, 21, 0, false));
            // Read-only memory is fine to read from, never to write to.
            assertDoesNotThrow(() -> Checks.segment("x", seg.asReadOnly(), 0, 20, false));
            e = assertThrows(IllegalArgumentException.class,
                    () -> Checks.segment("y", seg.asReadOnly(), 0, 20, true));
            assertTrue(e.getMessage().equals("y is a read-only segment"), e.getMessage());

            // Offsets are in floats on both sides: the two halves of one segment are disjoint, in either order.
            assertDoesNotThrow(() -> Checks.segmentOverlap("y", seg, 0, "x", seg, 10, 10, false));
            assertDoesNotThrow(() -> Checks.segmentOverlap("y", seg, 10, "x", seg, 0, 10, false));
            e = assertThrows(IllegalArgumentException.class,
                    () -> Checks.segmentOverlap("y", seg, 9, "x", seg, 0, 10, true));
            assertTrue(e.getMessage().equals("y (offset 9, length 10) overlaps x (offset 0) in memory"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Checks.segmentOverlap("y", seg, 5, "x", seg, 5, 10, false));
            assertTrue(e.getMessage().endsWith("; that aliasing is not allowed here"), e.getMessage());
            assertDoesNotThrow(() -> Checks.segmentOverlap("y", seg, 5, "x", seg, 5, 10, true));
        }
    }
}
