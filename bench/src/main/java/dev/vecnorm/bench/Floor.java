package dev.vecnorm.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The bandwidth floor: a streaming {@code y = a*x + b} that reads x once and writes y once. */
public final class Floor {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Floor() {
    }

    public static void affine(float[] x, float[] y, float a, float b) {
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int i = 0;
        int bound = F.loopBound(x.length);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).fma(va, vb).intoArray(y, i);
        }
        for (; i < x.length; i++) {
            y[i] = x[i] * a + b;
        }
    }

    /** Reads two arrays and writes one: the 12 B/elem floor of backward. */
    public static void affine2(float[] x, float[] dy, float[] dx, float a, float b) {
        FloatVector va = FloatVector.broadcast(F, a);
        FloatVector vb = FloatVector.broadcast(F, b);
        int i = 0;
        int bound = F.loopBound(x.length);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).fma(va, FloatVector.fromArray(F, dy, i).mul(vb)).intoArray(dx, i);
        }
        for (; i < x.length; i++) {
            dx[i] = x[i] * a + dy[i] * b;
        }
    }
}
