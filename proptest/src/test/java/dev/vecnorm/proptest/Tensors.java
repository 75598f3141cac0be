package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.fail;

import dev.vecnorm.NcsShape;
import java.util.Arrays;

/**
 * Tensors placed in larger arrays, so that a property also sees writes outside a tensor and offsets that are
 * ignored; and the channels-first/channels-last transposes of (N, C, S) tensors.
 */
final class Tensors {

    /** A NaN with a payload no computation produces: marks the array elements around a tensor. */
    static final int PAD_BITS = 0x7fc0_1234;
    static final float PAD = Float.intBitsToFloat(PAD_BITS);
    /** Marked elements after every tensor. */
    static final int TAIL = 3;
    /** What an output tensor holds before the call: a finite value no output can equal by chance. */
    static final float UNWRITTEN = -3.0e33f;

    private Tensors() {
    }

    /** {@code data} at {@code offset} in an array of PAD. */
    static float[] placed(float[] data, int offset) {
        float[] a = new float[offset + data.length + TAIL];
        Arrays.fill(a, PAD);
        System.arraycopy(data, 0, a, offset, data.length);
        return a;
    }

    /** An output of n elements at {@code offset}, holding UNWRITTEN, in an array of PAD. */
    static float[] output(int n, int offset) {
        float[] data = new float[n];
        Arrays.fill(data, UNWRITTEN);
        return placed(data, offset);
    }

    /** The n elements at {@code offset}, after checking that no element around them was written. */
    static float[] taken(String what, float[] a, int offset, int n) {
        for (int i = 0; i < a.length; i++) {
            if ((i < offset || i >= offset + n) && Float.floatToRawIntBits(a[i]) != PAD_BITS) {
                fail(what + ": element " + i + " outside the tensor [" + offset + ", " + (offset + n)
                        + ") was written: " + a[i]);
            }
        }
        return Arrays.copyOfRange(a, offset, offset + n);
    }

    /** As {@link #taken}, and the tensor itself must still be {@code original}, bit for bit (an input). */
    static void unchanged(String what, float[] a, int offset, float[] original) {
        float[] now = taken(what, a, offset, original.length);
        for (int i = 0; i < now.length; i++) {
            if (Float.floatToRawIntBits(now[i]) != Float.floatToRawIntBits(original[i])) {
                fail(what + " was modified at " + i + ": " + now[i] + ", was " + original[i]);
            }
        }
    }

    static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    /** Element (i, ch, j) of a channels-first tensor at its channels-last index. */
    static int lastIndex(NcsShape sh, int i, int ch, int j) {
        return (i * sh.s() + j) * sh.c() + ch;
    }

    static float[] toLast(NcsShape sh, float[] first) {
        float[] last = new float[first.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    last[lastIndex(sh, i, ch, j)] = first[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return last;
    }

    static float[] toFirst(NcsShape sh, float[] last) {
        float[] first = new float[last.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    first[(i * sh.c() + ch) * sh.s() + j] = last[lastIndex(sh, i, ch, j)];
                }
            }
        }
        return first;
    }
}
