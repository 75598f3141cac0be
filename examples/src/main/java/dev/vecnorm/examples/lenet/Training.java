package dev.vecnorm.examples.lenet;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Minibatch SGD on LeNet as d2l trains it: shuffled batches each epoch, test accuracy in eval mode. */
public final class Training implements AutoCloseable {

    /** One epoch's figures: d2l's running train loss and accuracy, eval-mode test accuracy, time, BN's share. */
    public record Epoch(int epoch, double trainLoss, double trainAccuracy, double testAccuracy, double seconds,
            double batchNormShare) {
    }

    private final LeNet net;
    private final Parallel parallel;
    private final Random shuffle;
    private final int batch;
    private final float learningRate;
    private final SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(LeNet.CLASSES);
    private float[] images = new float[0];
    private byte[] labels = new byte[0];

    /**
     * A fresh network (seeded weights and shuffling).
     *
     * @throws IllegalArgumentException if batch, threads or the learning rate is not positive
     */
    public Training(boolean batchNorm, long seed, int batch, double learningRate, int threads) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        if (!(learningRate > 0)) {
            throw new IllegalArgumentException("learningRate must be > 0, got " + learningRate);
        }
        this.parallel = new Parallel(threads);
        this.net = new LeNet(batchNorm, seed, parallel);
        this.shuffle = new Random(seed + 1);
        this.batch = batch;
        this.learningRate = (float) learningRate;
    }

    /** One SGD step on images [from, from + n) of the batch order in {@code data}; returns the batch loss. */
    double step(FashionMnist data, int[] order, int from, int n, int[] correct) {
        gather(data, order, from, n);
        net.training(true);
        float[] logits = net.forward(images, n);
        double l = loss.loss(logits, labels, 0, n);
        correct[0] += SoftmaxCrossEntropy.correct(logits, labels, 0, n, LeNet.CLASSES);
        net.backwardAndStep(loss.gradient(), n, learningRate);
        return l;
    }

    private void gather(FashionMnist data, int[] order, int from, int n) {
        if (images.length < n * FashionMnist.PIXELS) {
            images = new float[n * FashionMnist.PIXELS];
            labels = new byte[n];
        }
        for (int b = 0; b < n; b++) {
            int i = order[from + b];
            System.arraycopy(data.images(), i * FashionMnist.PIXELS, images, b * FashionMnist.PIXELS,
                    FashionMnist.PIXELS);
            labels[b] = data.labels()[i];
        }
    }

    /** The losses of {@code steps} SGD steps over the data in a seeded shuffled order (for tests). */
    double[] losses(FashionMnist data, int steps) {
        double[] out = new double[steps];
        int[] order = permutation(data.size());
        int[] correct = new int[1];
        for (int s = 0; s < steps; s++) {
            int from = (s * batch) % Math.max(1, data.size() - batch + 1);
            out[s] = step(data, order, from, Math.min(batch, data.size()), correct);
        }
        return out;
    }

    /** One epoch over {@code train}, then accuracy on {@code test}; progress on {@code progress} if not null. */
    public Epoch epoch(int epoch, FashionMnist train, FashionMnist test, PrintStream progress) {
        long bnBefore = net.batchNormNanos();
        long start = System.nanoTime();
        int[] order = permutation(train.size());
        int[] correct = new int[1];
        double lossSum = 0;
        int batches = (train.size() + batch - 1) / batch;
        for (int k = 0; k < batches; k++) {
            int from = k * batch;
            int n = Math.min(batch, train.size() - from);
            lossSum += step(train, order, from, n, correct) * n;
            if (progress != null && (k % 8 == 0 || k == batches - 1)) {
                progress.printf("\r  epoch %d [%-30s] %d/%d", epoch, "=".repeat(30 * (k + 1) / batches), k + 1,
                        batches);
                progress.flush();
            }
        }
        long trainNanos = System.nanoTime() - start;
        long bnNanos = net.batchNormNanos() - bnBefore;
        if (progress != null) {
            progress.print("\r" + " ".repeat(60) + "\r");
            progress.flush();
        }
        double testAccuracy = accuracy(test);
        return new Epoch(epoch, lossSum / train.size(), (double) correct[0] / train.size(), testAccuracy,
                trainNanos / 1e9, (double) bnNanos / trainNanos);
    }

    /** Accuracy in eval mode (running statistics), batch by batch. */
    public double accuracy(FashionMnist data) {
        net.training(false);
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        int hits = 0;
        for (int from = 0; from < data.size(); from += batch) {
            int n = Math.min(batch, data.size() - from);
            gather(data, order, from, n);
            hits += SoftmaxCrossEntropy.correct(net.forward(images, n), labels, 0, n, LeNet.CLASSES);
        }
        net.training(true);
        return (double) hits / data.size();
    }

    private int[] permutation(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = shuffle.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** Stops the worker threads. */
    @Override
    public void close() {
        parallel.close();
    }

    /** Runs {@code epochs} epochs, printing each as it ends. */
    public List<Epoch> run(int epochs, FashionMnist train, FashionMnist test, PrintStream out, PrintStream progress) {
        List<Epoch> result = new ArrayList<>();
        for (int e = 1; e <= epochs; e++) {
            Epoch r = epoch(e, train, test, progress);
            result.add(r);
            if (out != null) {
                out.printf("%5d %10.4f %9.3f %8.3f %8.2f %8.1f%%%n", r.epoch(), r.trainLoss(), r.trainAccuracy(),
                        r.testAccuracy(), r.seconds(), 100 * r.batchNormShare());
                out.flush();
            }
        }
        return result;
    }
}
