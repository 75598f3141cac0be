package dev.vecnorm.examples.lenet;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The logistic function, element-wise; backward uses the output: dx = dy * y * (1 - y). */
final class Sigmoid implements Layer {

    private static final VectorSpecies<Float> F = Vectors.F;
    private static final float LOG2_E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

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
        // exp dominates: a vector exp from float arithmetic (fma, shifts) is over 3x faster than Math.exp per
        // element and gives the same bits interpreted or compiled, which the Vector API's EXP does not (its
        // compiled intrinsic and its Java fallback differ), so seeded runs repeat. Spread over the threads.
        parallel.forEach(n, (part, from, to) -> {
            int end = to * size;
            for (int i = from * size; i < end; i += F.length()) {
                VectorMask<Float> m = F.indexInRange(i, end);
                FloatVector e = exp(FloatVector.fromArray(F, x, i, m).neg());
                FloatVector.broadcast(F, 1f).div(e.add(1f)).intoArray(y, i, m);
            }
        });
        return y;
    }

    /**
     * e^z for float lanes: z = k ln 2 + r with k the nearest integer (|r| <= ln 2 / 2), e^r by its Taylor
     * polynomial to r^6 (relative error below 2e-7), 2^k from the exponent bits. z is clamped to [-87, 88],
     * where the result stays a normal float.
     */
    static FloatVector exp(FloatVector z) {
        FloatVector c = z.max(-87f).min(88f);
        // Adding 1.5 * 2^23 rounds to an integer in the low mantissa bits (round to nearest, the same everywhere).
        FloatVector shifted = c.mul(LOG2_E).add(ROUNDER);
        FloatVector k = shifted.sub(ROUNDER);
        FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), c).add(k.mul(-LN2_LO));
        FloatVector p = FloatVector.broadcast(F, 1f / 720).fma(r, FloatVector.broadcast(F, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector bits = ((IntVector) shifted.reinterpretAsInts()).sub(ROUNDER_BITS - 127)
                .lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
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
