package dev.vecnorm.examples.lenet;

import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A k x k convolution with stride 1 and no padding over NCHW batches, through im2col: forward (W cols) and the
 * columns' gradient (W^T dy, then col2im) are {@link Gemm} products, the weight gradient blocked dot products
 * over the output positions ({@link Dot}). Samples are split across threads; each thread accumulates weight
 * gradients in its own buffer, summed in thread order (the same bits for a given thread count).
 */
final class Conv2d implements Layer {

    /**
     * Four floats: im2col and col2im move runs of outW floats (8 in conv2), too short for a call to
     * System.arraycopy (im2col 30% slower) or a full-width vector.
     */
    private static final VectorSpecies<Float> NARROW = FloatVector.SPECIES_128;

    private final int inC;
    private final int outC;
    private final int k;
    private final int inH;
    private final int inW;
    private final int outH;
    private final int outW;
    final float[] weight;
    final float[] bias;
    final float[] dWeight;
    final float[] dBias;
    private final float[][] partWeight;
    private final float[][] partBias;
    private final Parallel parallel;
    /** Per-thread im2col scratch and its gradient. */
    private final float[][] columns;
    private final float[][] dColumns;
    /**
     * Backward takes samples in groups of at least GROUP_COLUMNS output positions: conv2's 64 positions per
     * sample left the weight gradient's lane accumulators (150 KB) going through L2 for every sample.
     */
    private static final int GROUP_COLUMNS = 256;
    private final int group;
    /** Per thread: the group's dy, one row of count * plane floats per output channel. */
    private final float[][] groupDy;
    private boolean inputGradient = true;
    private float[] x;
    private float[] y;
    private float[] dx;

    Conv2d(int inC, int outC, int k, int inH, int inW, Random random, Parallel parallel) {
        this.inC = inC;
        this.outC = outC;
        this.k = k;
        this.inH = inH;
        this.inW = inW;
        this.outH = inH - k + 1;
        this.outW = inW - k + 1;
        this.parallel = parallel;
        weight = Init.xavierUniform(outC * inC * k * k, inC * k * k, outC * k * k, random);
        bias = Init.defaultBias(outC, inC * k * k, random);
        dWeight = new float[weight.length];
        dBias = new float[outC];
        partWeight = new float[parallel.parts()][weight.length * Dot.lanes()];
        partBias = new float[parallel.parts()][outC];
        group = Math.max(1, (GROUP_COLUMNS + outH * outW - 1) / (outH * outW));
        columns = new float[parallel.parts()][inC * k * k * outH * outW * group];
        dColumns = new float[parallel.parts()][inC * k * k * outH * outW * group];
        groupDy = new float[parallel.parts()][outC * outH * outW * group];
    }

    /** The first layer's input is the data: no one needs its gradient, which costs as much as the weights'. */
    Conv2d withoutInputGradient() {
        inputGradient = false;
        return this;
    }

    @Override
    public int outputSize() {
        return outC * outH * outW;
    }

    @Override
    public float[] forward(float[] input, int n) {
        x = input;
        y = Buffers.atLeast(y, n * outputSize());
        parallel.forEach(n, (part, from, to) -> {
            for (int b = from; b < to; b++) {
                forwardSample(b, columns[part]);
            }
        });
        return y;
    }

    private void forwardSample(int b, float[] cols) {
        int plane = outH * outW;
        int taps = inC * k * k;
        im2col(b, cols, 0, plane);
        Gemm.multiply(outC, plane, taps, weight, 0, taps, 1, cols, 0, plane, null, y, b * outC * plane, plane);
        for (int oc = 0; oc < outC; oc++) {
            int out = (b * outC + oc) * plane;
            float shift = bias[oc];
            for (int q = 0; q < plane; q++) {
                y[out + q] += shift;
            }
        }
    }

    /**
     * Row r = (ic, kh, kw) of {@code cols} (rows rowLength apart, from column {@code column}): the input pixels
     * that tap meets at every output position of sample b.
     */
    private void im2col(int b, float[] cols, int column, int rowLength) {
        for (int ic = 0; ic < inC; ic++) {
            int in = (b * inC + ic) * inH * inW;
            for (int kh = 0; kh < k; kh++) {
                for (int kw = 0; kw < k; kw++) {
                    int r = (ic * k + kh) * k + kw;
                    for (int oh = 0; oh < outH; oh++) {
                        int from = in + (oh + kh) * inW + kw;
                        int to = r * rowLength + column + oh * outW;
                        int ow = 0;
                        for (; ow + NARROW.length() <= outW; ow += NARROW.length()) {
                            FloatVector.fromArray(NARROW, x, from + ow).intoArray(cols, to + ow);
                        }
                        for (; ow < outW; ow++) {
                            cols[to + ow] = x[from + ow];
                        }
                    }
                }
            }
        }
    }

    @Override
    public float[] backward(float[] dy, int n) {
        dx = Buffers.atLeast(dx, n * inC * inH * inW);
        Arrays.fill(dx, 0, n * inC * inH * inW, 0f);
        for (int p = 0; p < partWeight.length; p++) {
            Arrays.fill(partWeight[p], 0f);
            Arrays.fill(partBias[p], 0f);
        }
        parallel.forEach(n, (part, from, to) -> {
            for (int b = from; b < to; b += group) {
                backwardGroup(dy, b, Math.min(group, to - b), partWeight[part], partBias[part], columns[part],
                        dColumns[part], groupDy[part]);
            }
        });
        Arrays.fill(dWeight, 0f);
        Arrays.fill(dBias, 0f);
        int taps = inC * k * k;
        for (int p = 0; p < partWeight.length; p++) {
            for (int oc = 0; oc < outC; oc++) {
                for (int r = 0; r < taps; r++) {
                    dWeight[oc * taps + r] += Dot.sumLanes(partWeight[p], (oc * taps + r) * Dot.lanes());
                }
            }
            for (int oc = 0; oc < outC; oc++) {
                dBias[oc] += partBias[p][oc];
            }
        }
        return dx;
    }

    /**
     * Adds the weight gradients of samples [b, b + count), per vector lane, to {@code gWeight} and their bias
     * gradients to gBias, and their input gradients to dx. The samples' columns sit side by side in rows of
     * count * plane floats, so each lane accumulator of the weight gradient is loaded and stored once per group.
     */
    private void backwardGroup(float[] dy, int b, int count, float[] gWeight, float[] gBias, float[] cols,
            float[] dCols, float[] dyGroup) {
        int plane = outH * outW;
        int taps = inC * k * k;
        int width = count * plane;
        for (int g = 0; g < count; g++) {
            im2col(b + g, cols, g * plane, width);
        }
        for (int g = 0; g < count; g++) {
            for (int oc = 0; oc < outC; oc++) {
                int out = ((b + g) * outC + oc) * plane;
                System.arraycopy(dy, out, dyGroup, oc * width + g * plane, plane);
                float sum = 0;
                for (int q = 0; q < plane; q++) {
                    sum += dy[out + q];
                }
                gBias[oc] += sum;
            }
        }
        Dot.addLanes(outC, taps, width, dyGroup, 0, width, cols, 0, width, gWeight, taps);
        if (!inputGradient) {
            return;
        }
        Gemm.multiply(taps, width, outC, weight, 0, 1, taps, dyGroup, 0, width, null, dCols, 0, width);
        // col2im: each tap's row of gradients goes back to the input pixels it came from.
        for (int g = 0; g < count; g++) {
            for (int ic = 0; ic < inC; ic++) {
                int in = ((b + g) * inC + ic) * inH * inW;
                for (int kh = 0; kh < k; kh++) {
                    for (int kw = 0; kw < k; kw++) {
                        int r = (ic * k + kh) * k + kw;
                        for (int oh = 0; oh < outH; oh++) {
                            int at = in + (oh + kh) * inW + kw;
                            int from = r * width + g * plane + oh * outW;
                            int ow = 0;
                            for (; ow + NARROW.length() <= outW; ow += NARROW.length()) {
                                FloatVector.fromArray(NARROW, dx, at + ow)
                                        .add(FloatVector.fromArray(NARROW, dCols, from + ow)).intoArray(dx, at + ow);
                            }
                            for (; ow < outW; ow++) {
                                dx[at + ow] += dCols[from + ow];
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void step(float learningRate) {
        Sgd.step(weight, dWeight, learningRate);
        Sgd.step(bias, dBias, learningRate);
    }
}
