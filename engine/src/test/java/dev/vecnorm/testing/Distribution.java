package dev.vecnorm.testing;

import dev.vecnorm.NcsShape;
import java.util.SplittableRandom;

/** Data distributions that break naive normalization code (DESIGN.md, numerics). */
public enum Distribution {
    NORMAL {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (gaussian(r) * (1 + ch % 3) + ch % 5 - 2);
        }
    },
    UNIFORM {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (r.nextDouble(-1, 1) * 3);
        }
    },
    /** Mean 1e4, std 1e-2: float sum/sumsq gives garbage here. */
    LARGE_OFFSET {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (1e4 + ch + 1e-2 * gaussian(r));
        }
    },
    /** Cauchy, clipped to +-1e6. */
    HEAVY_TAILS {
        @Override
        float sample(SplittableRandom r, int ch) {
            double v = Math.tan(Math.PI * (r.nextDouble() - 0.5));
            return (float) Math.max(-1e6, Math.min(1e6, v));
        }
    },
    TINY {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (1e-20 * (1 + gaussian(r)));
        }
    },
    HUGE {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (1e15 * (1 + gaussian(r)));
        }
    },
    CONSTANT {
        @Override
        float sample(SplittableRandom r, int ch) {
            return 0.75f + ch;
        }
    },
    TWO_VALUES {
        @Override
        float sample(SplittableRandom r, int ch) {
            return r.nextBoolean() ? -3.5f : 1.25f;
        }
    },
    /** Mean 0, std 1e3: a mean far below the spread, which float accumulators resolve only to ~1e-6 of it. */
    WIDE_ZERO_MEAN {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) (1e3 * gaussian(r));
        }
    },
    /**
     * 99% exact zeros, the rest around 1e-25 (issue 11: statistics from a few samples that all hit zeros lost
     * 97% of the variance when the float squares underflowed).
     */
    SPARSE_TINY {
        @Override
        float sample(SplittableRandom r, int ch) {
            return r.nextInt(100) == 0 ? (float) (1e-25 * (1 + 0.5 * gaussian(r))) : 0f;
        }
    },
    /** 95% zeros, the rest normal: masks, embeddings. */
    SPARSE_NORMAL {
        @Override
        float sample(SplittableRandom r, int ch) {
            return r.nextInt(20) == 0 ? (float) gaussian(r) : 0f;
        }
    },
    /** 99% zeros, the rest around 1e15 (squares near 1e30: float sums of squares overflow). */
    SPARSE_HUGE {
        @Override
        float sample(SplittableRandom r, int ch) {
            return r.nextInt(100) == 0 ? (float) (1e15 * (1 + 0.5 * gaussian(r))) : 0f;
        }
    },
    /** ReLU outputs: about half exact zeros, the rest a half-normal shifted per channel. */
    POST_RELU {
        @Override
        float sample(SplittableRandom r, int ch) {
            return (float) Math.max(0, gaussian(r) + ch % 3 - 1);
        }
    },
    /** Each channel from a different one of the above, so one tensor mixes magnitudes. */
    MIXTURE {
        @Override
        float sample(SplittableRandom r, int ch) {
            Distribution[] all = values();
            return all[ch % (all.length - 1)].sample(r, ch);
        }
    };

    abstract float sample(SplittableRandom r, int ch);

    /** A dense tensor of the shape with every channel drawn from this distribution. */
    public float[] tensor(NcsShape sh, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[sh.size()];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    x[Float64Reference.at(sh, i, ch, j)] = sample(r, ch);
                }
            }
        }
        return x;
    }

    static double gaussian(SplittableRandom r) {
        return r.nextGaussian();
    }

    /** Random floats in [lo, hi). */
    public static float[] uniform(int length, float lo, float hi, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = (float) r.nextDouble(lo, hi);
        }
        return a;
    }
}
