package dev.vecnorm.proptest;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.vecnorm.Backend;
import dev.vecnorm.BatchNormOps;
import dev.vecnorm.Layout;
import dev.vecnorm.NcsShape;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A channels-last tensor gives the channels-first results of its transpose: y, saved statistics and the backward
 * outputs within the accuracy bar. Not bitwise: channels-last sums a channel's values row by row across
 * positions, channels-first run by run, so the double sums add in other orders.
 */
class LayoutPropertiesTest {

    private static List<Backend> implementations() {
        List<Backend> all = new ArrayList<>();
        all.add(Backend.scalarReference());
        Backend.vector().ifPresent(all::add);
        return all;
    }

    private static float[] toLast(NcsShape sh, float[] first) {
        float[] last = new float[first.length];
        for (int i = 0; i < sh.n(); i++) {
            for (int ch = 0; ch < sh.c(); ch++) {
                for (int j = 0; j < sh.s(); j++) {
                    last[(i * sh.s() + j) * sh.c() + ch] = first[(i * sh.c() + ch) * sh.s() + j];
                }
            }
        }
        return last;
    }

    private static void close(float[] want, float[] got, double scale, String what) {
        for (int k = 0; k < want.length; k++) {
            if (Float.isNaN(want[k]) && Float.isNaN(got[k])) {
                continue;
            }
            double tol = 4e-6 * (1 + Math.abs(want[k]) + scale);
            assertTrue(Math.abs(want[k] - got[k]) <= tol, what + "[" + k + "]: " + got[k] + " vs " + want[k]);
        }
    }

    @Test
    void channelsLastGivesTheTransposedChannelsFirstResults() {
        qt().forAll(Generators.trainable()).checkAssert(c -> {
            NcsShape sh = c.shape();
            if (c.eps() == 0 || c.distribution().name().startsWith("SPARSE") || c.distribution().name().equals(
                    "CONSTANT") || c.distribution().name().equals("TINY")) {
                // Without eps, channels of (near-)zero variance divide rounding noise by rounding noise.
                return;
            }
            float[] x = c.x();
            float[] dy = c.dy();
            float[] gamma = c.gamma();
            float[] beta = c.beta();
            for (Backend k : implementations()) {
                BatchNormOps ops = BatchNormOps.using(k);
                float[] y1 = new float[sh.size()];
                float[] m1 = new float[sh.c()];
                float[] s1 = new float[sh.c()];
                ops.forwardTraining(c.dims(), x, 0, y1, 0, gamma, beta, c.eps(), m1, s1, null);
                float[] dx1 = new float[sh.size()];
                float[] dg1 = new float[sh.c()];
                float[] db1 = new float[sh.c()];
                ops.backward(c.dims(), dy, 0, x, 0, gamma, m1, s1, dx1, 0, dg1, db1);

                float[] y2 = new float[sh.size()];
                float[] m2 = new float[sh.c()];
                float[] s2 = new float[sh.c()];
                float[] xl = toLast(sh, x);
                ops.forwardTraining(Layout.CHANNELS_LAST, c.dims(), xl, 0, y2, 0, gamma, beta, c.eps(), m2, s2, null);
                float[] dx2 = new float[sh.size()];
                float[] dg2 = new float[sh.c()];
                float[] db2 = new float[sh.c()];
                // The backward from the channels-first statistics, so that only the layout differs.
                ops.backward(Layout.CHANNELS_LAST, c.dims(), toLast(sh, dy), 0, xl, 0, gamma, m1, s1, dx2, 0, dg2,
                        db2);
                String tag = k.name() + " " + c;
                close(toLast(sh, y1), y2, 0, tag + " y");
                double spread = 0;
                for (float v : x) {
                    spread = Math.max(spread, Math.abs(v));
                }
                close(m1, m2, spread, tag + " mean");
                close(s1, s2, 0, tag + " invStd");
                close(toLast(sh, dx1), dx2, 0, tag + " dx");
                close(dg1, dg2, Math.sqrt(sh.perChannel()), tag + " dgamma");
                close(db1, db2, Math.sqrt(sh.perChannel()), tag + " dbeta");
            }
        });
    }
}
