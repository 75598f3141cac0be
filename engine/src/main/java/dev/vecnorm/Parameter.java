package dev.vecnorm;

import java.util.Arrays;

/**
 * A learnable tensor of a layer and its gradient, as torch's {@code nn.Parameter} with its {@code .grad}: both
 * arrays are the layer's own, not copies, so an optimizer updates {@link #value()} in place and reads
 * {@link #grad()} without allocating. The gradient accumulates over {@link BatchNorm#backwardAccumulate} calls
 * until {@link #zeroGrad()} (or {@link BatchNorm#zeroGrad()}), as autograd accumulates into {@code .grad}.
 */
public final class Parameter {

    private final String name;
    private final float[] value;
    private final float[] grad;

    Parameter(String name, float[] value, float[] grad) {
        this.name = name;
        this.value = value;
        this.grad = grad;
    }

    /** The name PyTorch's {@code state_dict} gives it ({@code weight}, {@code bias}). */
    public String name() {
        return name;
    }

    /** The layer's values themselves: writing them changes the layer. */
    public float[] value() {
        return value;
    }

    /** The accumulated gradient, the layer's own array: zero until a backward adds to it. */
    public float[] grad() {
        return grad;
    }

    /** Sets the gradient to zero. */
    public void zeroGrad() {
        Arrays.fill(grad, 0f);
    }

    @Override
    public String toString() {
        return "Parameter[" + name + ", " + value.length + " values]";
    }
}
