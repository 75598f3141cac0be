/**
 * vecnorm: batch normalization for float32 NCHW tensors, with a Vector API fast path and a scalar reference.
 *
 * <p>The incubator module is optional ({@code requires static}): without {@code --add-modules
 * jdk.incubator.vector} the library runs its scalar kernels and logs one warning.
 */
module dev.vecnorm.engine {
    requires static jdk.incubator.vector;

    exports dev.vecnorm;
    exports dev.vecnorm.io;
}
