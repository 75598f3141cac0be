package dev.vecnorm.internal.kernels;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the kernel implementation once per JVM: the Vector API kernels when {@code jdk.incubator.vector} is
 * readable and the preferred float species has at least 4 lanes, else the scalar reference with one logged
 * warning that says why and how to enable the fast path.
 *
 * <p>The system property {@value #PROPERTY} forces a choice: {@code auto} (default), {@code scalar} or
 * {@code vector} (a clear error when the Vector API cannot be used). The Vector API implementation is loaded by
 * name, so this class and the rest of the library never link against an incubator type.
 */
public final class Kernels {

    /** System property that forces the implementation: auto, scalar or vector. */
    public static final String PROPERTY = "vecnorm.kernels";

    static final String LOGGER_NAME = "dev.vecnorm";
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String VECTOR_CLASS = "dev.vecnorm.internal.kernels.PanamaBatchNormKernels";

    private Kernels() {
    }

    /**
     * The kernels chosen for this JVM (see class doc).
     *
     * @throws IllegalStateException if {@value #PROPERTY} asks for something unknown or unavailable
     */
    public static BatchNormKernels preferred() {
        Choice choice = Preferred.CHOICE;
        if (choice.error != null) {
            throw new IllegalStateException(choice.error);
        }
        return choice.kernels;
    }

    /** The scalar reference kernels (always available). */
    public static BatchNormKernels scalar() {
        return ScalarBatchNormKernels.INSTANCE;
    }

    /** The Vector API kernels, or empty when they cannot run here ({@link #vectorUnavailableReason()} says why). */
    public static Optional<BatchNormKernels> vector() {
        return Optional.ofNullable(VectorProbe.KERNELS);
    }

    /** Why the Vector API kernels cannot run here, or empty when they can. */
    public static Optional<String> vectorUnavailableReason() {
        return Optional.ofNullable(VectorProbe.REASON);
    }

    private record Choice(BatchNormKernels kernels, String error) {
    }

    /** Holder: the choice is made on first use, never during class initialisation of Kernels itself. */
    private static final class Preferred {
        static final Choice CHOICE = choose();

        private static Choice choose() {
            String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
            switch (wanted) {
                case "scalar":
                    return new Choice(scalar(), null);
                case "vector":
                    if (VectorProbe.KERNELS == null) {
                        return new Choice(null, "-D" + PROPERTY + "=vector, but the Vector API kernels cannot run: "
                                + VectorProbe.REASON);
                    }
                    return new Choice(VectorProbe.KERNELS, null);
                case "auto":
                    if (VectorProbe.KERNELS == null) {
                        System.getLogger(LOGGER_NAME).log(System.Logger.Level.WARNING,
                                "vecnorm runs its scalar kernels (several times slower): " + VectorProbe.REASON);
                        return new Choice(scalar(), null);
                    }
                    System.getLogger(LOGGER_NAME).log(System.Logger.Level.DEBUG,
                            "vecnorm uses " + VectorProbe.KERNELS.name() + " kernels");
                    return new Choice(VectorProbe.KERNELS, null);
                default:
                    return new Choice(null, "unknown value -D" + PROPERTY + "=" + wanted
                            + "; expected auto, scalar or vector");
            }
        }
    }

    /** Holder: probes the Vector API once, without touching any incubator class unless the module is readable. */
    private static final class VectorProbe {
        static final BatchNormKernels KERNELS;
        static final String REASON;

        static {
            BatchNormKernels kernels = null;
            String reason = null;
            Optional<Module> module = ModuleLayer.boot().findModule(VECTOR_MODULE);
            if (module.isEmpty()) {
                reason = "the " + VECTOR_MODULE + " module is not loaded; start java with --add-modules "
                        + VECTOR_MODULE;
            } else if (!Kernels.class.getModule().canRead(module.get())) {
                reason = Kernels.class.getModule() + " cannot read " + VECTOR_MODULE
                        + "; start java with --add-modules " + VECTOR_MODULE;
            } else {
                try {
                    Class<?> type = Class.forName(VECTOR_CLASS);
                    kernels = (BatchNormKernels) MethodHandles.lookup()
                            .findStatic(type, "create", MethodType.methodType(type))
                            .invoke();
                } catch (UnsupportedOperationException e) {
                    reason = e.getMessage();
                } catch (Throwable e) {
                    reason = "the Vector API kernels failed to load (" + e + ")";
                }
            }
            KERNELS = kernels;
            REASON = reason;
        }
    }
}
