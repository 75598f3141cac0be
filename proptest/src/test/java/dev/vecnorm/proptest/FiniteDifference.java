package dev.vecnorm.proptest;

import java.util.function.DoubleUnaryOperator;

/**
 * A derivative by the five-point central difference (error O(h^4)), with an estimate of its own error: the
 * difference to the same stencil at step 2h, which is 16 times the truncation error at h plus the rounding noise
 * of both, so it bounds the error at h from above wherever the function is smooth on the scale of h.
 *
 * @param value f'(0)
 * @param error |value - (the same at step 2h)|
 */
record FiniteDifference(double value, double error) {

    static FiniteDifference of(DoubleUnaryOperator f, double h) {
        double f1 = f.applyAsDouble(h) - f.applyAsDouble(-h);
        double f2 = f.applyAsDouble(2 * h) - f.applyAsDouble(-2 * h);
        double f4 = f.applyAsDouble(4 * h) - f.applyAsDouble(-4 * h);
        double atH = (8 * f1 - f2) / (12 * h);
        double at2H = (8 * f2 - f4) / (24 * h);
        return new FiniteDifference(atH, Math.abs(atH - at2H));
    }
}
