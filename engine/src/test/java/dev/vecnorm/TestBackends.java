package dev.vecnorm;

import dev.vecnorm.internal.kernels.BatchNormKernels;
import dev.vecnorm.internal.kernels.Kernels;

/** For tests that iterate over kernel implementations: the public {@link Backend} of a kernels object. */
public final class TestBackends {

    private TestBackends() {
    }

    /** The backend whose kernels are {@code kernels} (the scalar reference or the Vector API kernels). */
    public static Backend of(BatchNormKernels kernels) {
        if (kernels == Kernels.scalar()) {
            return Backend.scalarReference();
        }
        Backend vector = Backend.vector().orElseThrow();
        if (vector.kernels() != kernels) {
            throw new IllegalArgumentException("no backend runs " + kernels.name());
        }
        return vector;
    }
}
