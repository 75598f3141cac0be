package dev.vecnorm;

/** The result of a tensor forward call: the output and the statistics its backward needs. */
public record Normalized(Tensor y, SavedStatistics saved) {
}
