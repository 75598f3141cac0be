package dev.vecnorm.examples.lenet;

/** 2 x 2 average pooling with stride 2 over NCHW planes of even height and width. */
final class AvgPool2 implements Layer {

    private final int channels;
    private final int inH;
    private final int inW;
    private float[] y;
    private float[] dx;

    AvgPool2(int channels, int inH, int inW) {
        this.channels = channels;
        this.inH = inH;
        this.inW = inW;
    }

    @Override
    public int outputSize() {
        return channels * (inH / 2) * (inW / 2);
    }

    @Override
    public float[] forward(float[] x, int n) {
        int outW = inW / 2;
        int planes = n * channels;
        y = Buffers.atLeast(y, n * outputSize());
        for (int p = 0; p < planes; p++) {
            int in = p * inH * inW;
            int out = p * (inH / 2) * outW;
            for (int oh = 0; oh < inH / 2; oh++) {
                int r0 = in + 2 * oh * inW;
                for (int ow = 0; ow < outW; ow++) {
                    int a = r0 + 2 * ow;
                    y[out + oh * outW + ow] = 0.25f * (x[a] + x[a + 1] + x[a + inW] + x[a + inW + 1]);
                }
            }
        }
        return y;
    }

    @Override
    public float[] backward(float[] dy, int n) {
        int outW = inW / 2;
        int planes = n * channels;
        dx = Buffers.atLeast(dx, n * channels * inH * inW);
        for (int p = 0; p < planes; p++) {
            int in = p * inH * inW;
            int out = p * (inH / 2) * outW;
            for (int oh = 0; oh < inH / 2; oh++) {
                int r0 = in + 2 * oh * inW;
                for (int ow = 0; ow < outW; ow++) {
                    float d = 0.25f * dy[out + oh * outW + ow];
                    int a = r0 + 2 * ow;
                    dx[a] = d;
                    dx[a + 1] = d;
                    dx[a + inW] = d;
                    dx[a + inW + 1] = d;
                }
            }
        }
        return dx;
    }
}
