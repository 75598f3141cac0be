package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;
import java.util.Optional;

/**
 * Which implementation of the passes an operations object runs: the Vector API kernels or the scalar reference
 * they are tested against. Every operation gives the same results within the documented bar on either; the
 * kernels themselves are internal ({@code dev.vecnorm.internal.kernels} is not exported).
 *
 * <p>{@link #preferred()} is what {@code get()} uses: the Vector API kernels when {@code jdk.incubator.vector} is
 * readable, else the scalar reference with one logged warning. The system property {@value #PROPERTY} forces the
 * choice: {@code auto} (default), {@code scalar} or {@code vector}.
 */
public final class Backend {

    /** System property that forces the preferred implementation: auto, scalar or vector. */
    public static final String PROPERTY = Kernels.PROPERTY;

    private static final Backend SCALAR = new Backend(Kernels.scalar());

    private final BatchNormKernels kernels;

    private Backend(BatchNormKernels kernels) {
        this.kernels = kernels;
    }

    /**
     * The implementation chosen for this JVM (see the class comment).
     *
     * @throws IllegalStateException if {@value #PROPERTY} asks for something unknown or unavailable
     */
    public static Backend preferred() {
        BatchNormKernels k = Kernels.preferred();
        return k == SCALAR.kernels ? SCALAR : Vector.BACKEND;
    }

    /** The scalar reference: plain loops, always available, several times slower. */
    public static Backend scalarReference() {
        return SCALAR;
    }

    /** The Vector API kernels, or empty when they cannot run here ({@link #vectorUnavailableReason()} says why). */
    public static Optional<Backend> vector() {
        return Optional.ofNullable(Vector.BACKEND);
    }

    /** Why the Vector API kernels cannot run here, or empty when they can. */
    public static Optional<String> vectorUnavailableReason() {
        return Kernels.vectorUnavailableReason();
    }

    /** A short name for logs and benchmark tables: "scalar" or "vector-" and the vector width in bits. */
    public String name() {
        return kernels.name();
    }

    @Override
    public String toString() {
        return name();
    }

    BatchNormKernels kernels() {
        return kernels;
    }

    /** Holder: one Backend for the Vector API kernels, made on first use. */
    private static final class Vector {
        static final Backend BACKEND = Kernels.vector().map(Backend::new).orElse(null);
    }
}
