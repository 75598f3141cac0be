package dev.vecnorm.examples.lenet;

/** Mean softmax cross-entropy over a batch of logits, and its gradient (softmax - one-hot) / n. */
final class SoftmaxCrossEntropy {

    private final int classes;
    private float[] gradient;

    SoftmaxCrossEntropy(int classes) {
        this.classes = classes;
    }

    /** The mean loss of the batch; {@link #gradient()} then holds dLoss/dLogits. */
    double loss(float[] logits, byte[] labels, int labelOffset, int n) {
        gradient = Buffers.atLeast(gradient, n * classes);
        double total = 0;
        for (int b = 0; b < n; b++) {
            int row = b * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, logits[row + j]);
            }
            double sum = 0;
            for (int j = 0; j < classes; j++) {
                sum += Math.exp(logits[row + j] - max);
            }
            int label = labels[labelOffset + b];
            total += Math.log(sum) + max - logits[row + label];
            for (int j = 0; j < classes; j++) {
                double p = Math.exp(logits[row + j] - max) / sum;
                gradient[row + j] = (float) ((p - (j == label ? 1 : 0)) / n);
            }
        }
        return total / n;
    }

    float[] gradient() {
        return gradient;
    }

    /** How many rows' largest logit is at their label. */
    static int correct(float[] logits, byte[] labels, int labelOffset, int n, int classes) {
        int hits = 0;
        for (int b = 0; b < n; b++) {
            int best = 0;
            for (int j = 1; j < classes; j++) {
                if (logits[b * classes + j] > logits[b * classes + best]) {
                    best = j;
                }
            }
            hits += best == labels[labelOffset + b] ? 1 : 0;
        }
        return hits;
    }
}
