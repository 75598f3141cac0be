package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.internal.kernels.Kernels;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

/**
 * The public choice of implementation: each Backend runs the kernels it names, every ops class reports the
 * backend it was given (also after parallel and singleThreaded), a null backend is refused by name, and the
 * kernels' package is not part of the exported API. (Without the module: FallbackTest.)
 */
class BackendTest {

    @Test
    void backendsNameAndRunTheirKernels() {
        assertEquals("scalar", Backend.scalarReference().name());
        assertSame(Kernels.scalar(), Backend.scalarReference().kernels());
        Backend vector = Backend.vector().orElseThrow();
        assertSame(Kernels.vector().orElseThrow(), vector.kernels());
        assertTrue(vector.name().matches("vector-(128|256|512)"), vector.name());
        assertEquals(vector.name(), vector.toString());
        assertFalse(Backend.vectorUnavailableReason().isPresent());
        assertSame(vector, Backend.preferred(), "the tests run with the module: the vector kernels are preferred");
        assertSame(vector, Backend.vector().orElseThrow(), "one instance per implementation");
        assertEquals(Kernels.PROPERTY, Backend.PROPERTY);
    }

    @Test
    void everyOpsClassReportsItsBackendThroughItsVariants() {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            for (Backend b : new Backend[] {Backend.scalarReference(), Backend.vector().orElseThrow()}) {
                assertSame(b, BatchNormOps.using(b).backend());
                assertSame(b, BatchNormOps.using(b).parallel(pool).backend());
                assertSame(b, BatchNormOps.using(b).parallel(pool).singleThreaded().backend());
                assertSame(b, GroupNormOps.using(b).parallel(pool).singleThreaded().backend());
                assertSame(b, LayerNormOps.using(b).parallel(pool).backend());
                assertSame(b, RMSNormOps.using(b).singleThreaded().backend());
            }
            assertSame(Backend.preferred(), BatchNormOps.get().backend());
            assertSame(Backend.preferred(), GroupNormOps.get().backend());
            assertSame(Backend.preferred(), LayerNormOps.get().backend());
            assertSame(Backend.preferred(), RMSNormOps.get().backend());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aNullBackendIsRefusedByName() {
        for (Runnable call : new Runnable[] {() -> BatchNormOps.using(null), () -> GroupNormOps.using(null),
                () -> LayerNormOps.using(null), () -> RMSNormOps.using(null)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
            assertEquals("backend must not be null", e.getMessage());
        }
    }

    @Test
    void theScalarReferenceAndTheVectorKernelsGiveTheSameNormalizationWithinTheBar() {
        int[] dims = {4, 3, 5, 7};
        NcsShape sh = NcsShape.of(dims);
        float[] x = dev.vecnorm.testing.Distribution.NORMAL.tensor(sh, 3);
        float[] a = new float[x.length];
        float[] b = new float[x.length];
        BatchNormOps.using(Backend.scalarReference()).forwardTraining(dims, x, 0, a, 0, null, null, 1e-5, null, null,
                null);
        BatchNormOps.using(Backend.vector().orElseThrow()).forwardTraining(dims, x, 0, b, 0, null, null, 1e-5, null,
                null, null);
        for (int i = 0; i < x.length; i++) {
            assertEquals(a[i], b[i], 1e-5 * (1 + Math.abs(a[i])), "element " + i);
            assertTrue(a[i] != 0f || x[i] == 0f, "the scalar backend wrote element " + i);
        }
    }

    /** Each ops class holds the kernels of the backend it was given, through parallel and singleThreaded too. */
    @Test
    void eachOpsClassRunsTheKernelsOfItsBackend() {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            for (Backend b : new Backend[] {Backend.scalarReference(), Backend.vector().orElseThrow()}) {
                assertSame(b.kernels(), BatchNormOps.using(b).parallel(pool).singleThreaded().kernels(), b.name());
                assertSame(b.kernels(), GroupNormOps.using(b).parallel(pool).kernels(), b.name());
                assertSame(b.kernels(), LayerNormOps.using(b).parallel(pool).singleThreaded().kernels(), b.name());
                assertSame(b.kernels(), RMSNormOps.using(b).parallel(pool).kernels(), b.name());
            }
        } finally {
            pool.shutdown();
        }
    }
}
