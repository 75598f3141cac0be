package dev.vecnorm.bench.compare;

import java.util.List;

/** The operations compared, with their minimal DRAM traffic per element (DESIGN.md). */
enum Op {
    /** Statistics, normalize, running-stat update: read x, write y. */
    TRAINING("training", 8),
    /** y = x * a[c] + b[c] with running statistics: read x, write y. */
    INFERENCE("inference", 8),
    /** dx, dgamma, dbeta from saved statistics: read x and dy, write dx. */
    BACKWARD("backward", 12),
    /** The forward of LayerNorm, RMSNorm, GroupNorm, InstanceNorm (statistics of its own input): read x, write y. */
    FORWARD("forward", 8),
    /** relu(bn(x)) with batch statistics, in one pass over y: read x, write y. */
    TRAINING_RELU("training+relu", 8),
    /** relu(bn(x)) with running statistics: read x, write y. */
    INFERENCE_RELU("inference+relu", 8),
    /** relu(bn(x) + z), ResNet's block ending, with running statistics: read x and z, write y. */
    INFERENCE_ADD_RELU("inference+add+relu", 12);

    /** The ops of the BatchNorm (NCHW) comparison, the default suite: one chart each. */
    static final List<Op> BATCH_NORM = List.of(TRAINING, INFERENCE, BACKWARD);

    final String label;
    final int bytesPerElement;

    Op(String label, int bytesPerElement) {
        this.label = label;
        this.bytesPerElement = bytesPerElement;
    }

    static Op of(String label) {
        for (Op op : values()) {
            if (op.label.equals(label)) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown op " + label);
    }
}
