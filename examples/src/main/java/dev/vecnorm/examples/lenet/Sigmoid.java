package dev.vecnorm.examples.lenet;

/** The logistic function, element-wise; backward uses the output: dx = dy * y * (1 - y). */
final class Sigmoid implements Layer {

    private final int size;
    private final Parallel parallel;
    private float[] y;
    private float[] dx;

    Sigmoid(int size, Parallel parallel) {
        this.size = size;
        this.parallel = parallel;
    }

    @Override
    public int outputSize() {
        return size;
    }

    @Override
    public float[] forward(float[] x, int n) {
        y = Buffers.atLeast(y, n * size);
        // Math.exp dominates: spread it over the threads.
        parallel.forEach(n, (part, from, to) -> {
            for (int i = from * size; i < to * size; i++) {
                y[i] = (float) (1 / (1 + Math.exp(-x[i])));
            }
        });
        return y;
    }

    @Override
    public float[] backward(float[] dy, int n) {
        dx = Buffers.atLeast(dx, n * size);
        for (int i = 0; i < n * size; i++) {
            dx[i] = dy[i] * y[i] * (1 - y[i]);
        }
        return dx;
    }
}
