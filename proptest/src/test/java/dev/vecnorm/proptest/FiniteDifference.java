package dev.vecnorm.proptest;

import java.util.function.DoubleUnaryOperator;

/**
 * A derivative by the five-point central difference (truncation error O(h^4)), with a bound on its error: the
 * difference to the same stencil at step 2h (16 times the truncation error at h, so an overestimate of it wherever
 * the function is smooth on the scale of h), plus the rounding of the quotient, {@code 1.5 fError / h} for a
 * function computed to within {@code fError} ((8 * 2 + 2) fError / 12h).
 *
 * @param value f'(0)
 * @param error the bound on |value - f'(0)|
 */
record FiniteDifference(double value, double error) {

    static FiniteDifference of(DoubleUnaryOperator f, double h, double fError) {
        double f1 = f.applyAsDouble(h) - f.applyAsDouble(-h);
        double f2 = f.applyAsDouble(2 * h) - f.applyAsDouble(-2 * h);
        double f4 = f.applyAsDouble(4 * h) - f.applyAsDouble(-4 * h);
        double atH = (8 * f1 - f2) / (12 * h);
        double at2H = (8 * f2 - f4) / (24 * h);
        return new FiniteDifference(atH, Math.abs(atH - at2H) + 1.5 * fError / h);
    }
}
