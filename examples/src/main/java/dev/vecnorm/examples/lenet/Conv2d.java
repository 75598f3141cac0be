package dev.vecnorm.examples.lenet;

import java.util.Arrays;
import java.util.Random;

/**
 * A k x k convolution with stride 1 and no padding over NCHW batches. Each kernel tap is applied to a whole
 * output row at once ({@code y[row] += w * x[row shifted]}): the innermost loop runs over contiguous floats, which
 * C2 turns into vector code, and no im2col copy is made. Samples are split across threads; each thread
 * accumulates weight gradients in its own buffer, summed in thread order (the same bits for a given thread count).
 */
final class Conv2d implements Layer {

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
        partWeight = new float[parallel.parts()][weight.length];
        partBias = new float[parallel.parts()][outC];
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
                forwardSample(b);
            }
        });
        return y;
    }

    private void forwardSample(int b) {
        int plane = outH * outW;
        for (int oc = 0; oc < outC; oc++) {
            int out = (b * outC + oc) * plane;
            Arrays.fill(y, out, out + plane, bias[oc]);
            for (int ic = 0; ic < inC; ic++) {
                int in = (b * inC + ic) * inH * inW;
                int taps = (oc * inC + ic) * k * k;
                for (int kh = 0; kh < k; kh++) {
                    for (int kw = 0; kw < k; kw++) {
                        float w = weight[taps + kh * k + kw];
                        for (int oh = 0; oh < outH; oh++) {
                            int yo = out + oh * outW;
                            int xi = in + (oh + kh) * inW + kw;
                            for (int ow = 0; ow < outW; ow++) {
                                y[yo + ow] += w * x[xi + ow];
                            }
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
            for (int b = from; b < to; b++) {
                backwardSample(dy, b, partWeight[part], partBias[part]);
            }
        });
        Arrays.fill(dWeight, 0f);
        Arrays.fill(dBias, 0f);
        for (int p = 0; p < partWeight.length; p++) {
            for (int i = 0; i < dWeight.length; i++) {
                dWeight[i] += partWeight[p][i];
            }
            for (int oc = 0; oc < outC; oc++) {
                dBias[oc] += partBias[p][oc];
            }
        }
        return dx;
    }

    private void backwardSample(float[] dy, int b, float[] gWeight, float[] gBias) {
        int plane = outH * outW;
        for (int oc = 0; oc < outC; oc++) {
            int out = (b * outC + oc) * plane;
            float sum = 0;
            for (int q = 0; q < plane; q++) {
                sum += dy[out + q];
            }
            gBias[oc] += sum;
            for (int ic = 0; ic < inC; ic++) {
                int in = (b * inC + ic) * inH * inW;
                int taps = (oc * inC + ic) * k * k;
                for (int kh = 0; kh < k; kh++) {
                    for (int kw = 0; kw < k; kw++) {
                        float w = weight[taps + kh * k + kw];
                        float g = 0;
                        for (int oh = 0; oh < outH; oh++) {
                            int yo = out + oh * outW;
                            int xi = in + (oh + kh) * inW + kw;
                            for (int ow = 0; ow < outW; ow++) {
                                float d = dy[yo + ow];
                                g += d * x[xi + ow];
                                dx[xi + ow] += w * d;
                            }
                        }
                        gWeight[taps + kh * k + kw] += g;
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
