package dev.vecnorm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the normalization layers share, and their common type: parameters with accumulating gradients, the input
 * that backward reads (kept by reference, so it must not change in between), the refusal of a backward after a
 * forward in place, and the allocating {@link Tensor} forms of forward and backward. Not thread-safe.
 */
public abstract sealed class NormLayer permits BatchNorm, LayerNorm, RMSNorm, GroupNorm, InstanceNorm {

    private final float[] weight;
    private final float[] bias;
    private final List<Parameter> parameters;
    private final float[] callWeightGrad;
    private final float[] callBiasGrad;

    int[] lastShape;
    Layout lastLayout = Layout.CHANNELS_FIRST;
    float[] lastX;
    int lastXOffset;
    private boolean lastInputOverwritten;

    /** weight and bias (each may be null) are the layer's own arrays. */
    NormLayer(float[] weight, float[] bias) {
        this.weight = weight;
        this.bias = bias;
        List<Parameter> list = new ArrayList<>();
        if (weight != null) {
            list.add(new Parameter("weight", weight, new float[weight.length]));
        }
        if (bias != null) {
            list.add(new Parameter("bias", bias, new float[bias.length]));
        }
        this.parameters = List.copyOf(list);
        this.callWeightGrad = weight == null ? null : new float[weight.length];
        this.callBiasGrad = bias == null ? null : new float[bias.length];
    }

    /** The operation's name, for messages. */
    abstract String name();

    /**
     * Normalizes {@code x} into {@code y} ({@code y} may be {@code x} at the same offset where the operation
     * allows it; a backward after such a call is refused, the input being gone).
     *
     * @throws IllegalArgumentException on a bad shape, lengths, offsets or aliasing, before anything is written
     */
    public abstract void forward(int[] shape, float[] x, int xOffset, float[] y, int yOffset);

    /**
     * Backward of the last forward call: dx into {@code dx} (may be {@code dy}), the parameter gradients into
     * {@code dWeight} and {@code dBias}, overwriting them (each may be null).
     *
     * @throws IllegalStateException if no forward came before, or it normalized in place
     * @throws IllegalArgumentException on bad lengths or offsets, before anything is written
     */
    public abstract void backward(float[] dy, int dyOffset, float[] dx, int dxOffset, float[] dWeight,
            float[] dBias);

    /**
     * {@link #forward(int[], float[], int, float[], int)} for a tensor of logical shape (N, C, spatial...) stored
     * in {@code layout}. BatchNorm, GroupNorm and InstanceNorm take channels-last tensors (no transposes; backward
     * then reads and writes that layout too); LayerNorm and RMSNorm normalize trailing dimensions of row-major
     * memory and take {@link Layout#CHANNELS_FIRST} only.
     *
     * @throws IllegalArgumentException as the overload without a layout, on a null layout, or a layout the layer
     *     does not take
     */
    public void forward(Layout layout, int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must not be null");
        }
        if (layout == Layout.CHANNELS_FIRST) {
            forward(shape, x, xOffset, y, yOffset);
        } else {
            forwardChannelsLast(shape, x, xOffset, y, yOffset);
        }
    }

    /** The channels-last forward; this default refuses it. Implementations record it with {@link #remember}. */
    void forwardChannelsLast(int[] shape, float[] x, int xOffset, float[] y, int yOffset) {
        throw new IllegalArgumentException(name() + " normalizes the trailing dimensions of row-major memory and "
                + "takes no channels-last layout");
    }

    /** Forward of a tensor (in its layout) into a new one of the same layout. */
    public Tensor forward(Tensor x) {
        if (x == null) {
            throw new IllegalArgumentException("x must not be null");
        }
        Tensor y = x.zerosLike();
        forward(x.layout(), x.shapeUnsafe(), x.data(), x.offset(), y.data(), y.offset());
        return y;
    }

    /** Backward of the last forward into new arrays; {@code dy} has the last input's shape. */
    public NormGradients backward(Tensor dy) {
        requireForward();
        if (dy == null) {
            throw new IllegalArgumentException("dy must not be null");
        }
        if (!Arrays.equals(dy.shapeUnsafe(), lastShape) || dy.layout() != lastLayout) {
            throw new IllegalArgumentException("dy has shape " + Arrays.toString(dy.shapeUnsafe()) + " "
                    + dy.layout() + ", but the last input was " + Arrays.toString(lastShape) + " " + lastLayout);
        }
        Tensor dx = Tensor.zeros(lastShape).in(lastLayout);
        float[] dWeight = weight == null ? null : new float[weight.length];
        float[] dBias = bias == null ? null : new float[bias.length];
        backward(dy.data(), dy.offset(), dx.data(), 0, dWeight, dBias);
        return new NormGradients(dx, dWeight, dBias);
    }

    /**
     * Backward of the last forward call into {@code dx}, adding the parameter gradients to
     * {@link #parameters()}' {@link Parameter#grad()} arrays as autograd accumulates into {@code .grad}.
     * Allocates nothing; throws before anything is written on bad input.
     */
    public void backwardAccumulate(float[] dy, int dyOffset, float[] dx, int dxOffset) {
        backward(dy, dyOffset, dx, dxOffset, callWeightGrad, callBiasGrad);
        addCallGradients();
    }

    /** Scratch for one call's parameter gradients, which {@link #addCallGradients()} then accumulates. */
    float[] callWeightGrad() {
        return callWeightGrad;
    }

    float[] callBiasGrad() {
        return callBiasGrad;
    }

    void addCallGradients() {
        int p = 0;
        if (weight != null) {
            add(callWeightGrad, parameters.get(p++).grad());
        }
        if (bias != null) {
            add(callBiasGrad, parameters.get(p).grad());
        }
    }

    private static void add(float[] from, float[] into) {
        for (int i = 0; i < from.length; i++) {
            into[i] += from[i];
        }
    }

    /** The learnable parameters (weight, then bias, those the layer has): its own arrays with their gradients. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** Sets every parameter's gradient to zero. */
    public void zeroGrad() {
        for (Parameter p : parameters) {
            p.zeroGrad();
        }
    }

    /** Records a successful channels-first forward: what backward reads. */
    void remember(int[] shape, float[] x, int xOffset, boolean overwritten) {
        remember(Layout.CHANNELS_FIRST, shape, x, xOffset, overwritten);
    }

    /** Records a successful forward of a tensor in {@code layout}: what backward reads. */
    void remember(Layout layout, int[] shape, float[] x, int xOffset, boolean overwritten) {
        lastLayout = layout;
        lastShape = shape.clone();
        lastX = x;
        lastXOffset = xOffset;
        lastInputOverwritten = overwritten;
    }

    void requireForward() {
        if (lastShape == null) {
            throw new IllegalStateException("backward called before any forward call");
        }
        if (lastInputOverwritten) {
            throw new IllegalStateException("the last forward normalized in place (y overlapped x), so its input is"
                    + " gone and backward cannot use it; call forward with a separate output when a backward"
                    + " follows");
        }
    }

    static boolean overlaps(float[] x, int xOffset, float[] y, int yOffset, long size) {
        return x == y && xOffset < yOffset + size && yOffset < xOffset + size;
    }

    static int[] checkedShape(int[] shape) {
        if (shape == null) {
            throw new IllegalArgumentException("shape must not be null");
        }
        return shape;
    }

    @Override
    public String toString() {
        return name() + (lastShape == null ? "" : ", last input " + Arrays.toString(lastShape));
    }
}
