package dev.vecnorm.bench.compare;

/** The batch-norm operations compared, with their minimal DRAM traffic per element (DESIGN.md). */
enum Op {
    /** Statistics, normalize, running-stat update: read x, write y. */
    TRAINING("training", 8),
    /** y = x * a[c] + b[c] with running statistics: read x, write y. */
    INFERENCE("inference", 8),
    /** dx, dgamma, dbeta from saved statistics: read x and dy, write dx. */
    BACKWARD("backward", 12);

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
