import jdk.incubator.vector.*;
/**
 * Probe of how rows of y = (x - c) * a + b behave on this host when the kernel reads several rows per coefficient
 * load, and where x and y sit relative to each other: "gap" is how many arrays of the tensor's size are allocated
 * between x and y (G1 places arrays of a megabyte or more region-aligned, so x and y always share their page
 * offset; a gap of one puts y 32 MiB after x for the 12.8 MB of ResNet-50's last stage).
 * Variants: one row at a time (row), four adjacent rows with each row's store before the next row's load (four),
 * the same with the four loads first (fourLoadsFirst), four rows from the quarters of the block (fourQuarters),
 * and both (quartersLoadsFirst, what AffineRuns.fourRows does). Prints the best ms of each per gap.
 *
 *   ./vecnorm java bench/scripts/RowPlacementProbe.java ROWS CALLS WIDTH
 *   (1568 300 2048: L3-resident; 6272 15 2048 or 25088 15 512: from DRAM; results in bench/results/quarter-rows-*)
 */
public class RowPlacementProbe {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static void four(float[] x, int in, float[] y, int out, int stride, int width, float[] cf, int cs) {
        for (int q = 0; q < width; q += L) {
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, cs + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * cs + q);
            FloatVector.fromArray(F, x, in + q).sub(vc).fma(va, vb).intoArray(y, out + q);
            FloatVector.fromArray(F, x, in + stride + q).sub(vc).fma(va, vb).intoArray(y, out + stride + q);
            FloatVector.fromArray(F, x, in + 2 * stride + q).sub(vc).fma(va, vb).intoArray(y, out + 2 * stride + q);
            FloatVector.fromArray(F, x, in + 3 * stride + q).sub(vc).fma(va, vb).intoArray(y, out + 3 * stride + q);
        }
    }
    static void fourLoadsFirst(float[] x, int in, float[] y, int out, int stride, int width, float[] cf, int cs) {
        for (int q = 0; q < width; q += L) {
            FloatVector x0 = FloatVector.fromArray(F, x, in + q);
            FloatVector x1 = FloatVector.fromArray(F, x, in + stride + q);
            FloatVector x2 = FloatVector.fromArray(F, x, in + 2 * stride + q);
            FloatVector x3 = FloatVector.fromArray(F, x, in + 3 * stride + q);
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, cs + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * cs + q);
            x0.sub(vc).fma(va, vb).intoArray(y, out + q);
            x1.sub(vc).fma(va, vb).intoArray(y, out + stride + q);
            x2.sub(vc).fma(va, vb).intoArray(y, out + 2 * stride + q);
            x3.sub(vc).fma(va, vb).intoArray(y, out + 3 * stride + q);
        }
    }
    static void two(float[] x, int in, float[] y, int out, int stride, int width, float[] cf, int cs) {
        for (int q = 0; q < width; q += L) {
            FloatVector vc = FloatVector.fromArray(F, cf, q);
            FloatVector va = FloatVector.fromArray(F, cf, cs + q);
            FloatVector vb = FloatVector.fromArray(F, cf, 2 * cs + q);
            FloatVector.fromArray(F, x, in + q).sub(vc).fma(va, vb).intoArray(y, out + q);
            FloatVector.fromArray(F, x, in + stride + q).sub(vc).fma(va, vb).intoArray(y, out + stride + q);
        }
    }
    static void row(float[] x, int in, float[] y, int out, int width, float[] cf, int cs) {
        for (int q = 0; q < width; q += L) {
            FloatVector.fromArray(F, x, in + q).sub(FloatVector.fromArray(F, cf, q))
                .fma(FloatVector.fromArray(F, cf, cs + q), FloatVector.fromArray(F, cf, 2 * cs + q)).intoArray(y, out + q);
        }
    }
    static void all(int mode, float[] x, float[] y, int n, int w, float[] cf, int cs) {
        int i = 0;
        if (mode == 4) for (; i + 4 <= n; i += 4) four(x, i * w, y, i * w, w, w, cf, cs);
        if (mode == 5) for (; i + 4 <= n; i += 4) fourLoadsFirst(x, i * w, y, i * w, w, w, cf, cs);
        if (mode == 7) { int qn = n / 4; for (; i < qn; i++) fourLoadsFirst(x, i * w, y, i * w, qn * w, w, cf, cs); i = 4 * qn; }
        if (mode == 6) { int qn = n / 4; for (; i < qn; i++) four(x, i * w, y, i * w, qn * w, w, cf, cs); i = 4 * qn; }
        if (mode == 2) for (; i + 2 <= n; i += 2) two(x, i * w, y, i * w, w, w, cf, cs);
        for (; i < n; i++) row(x, i * w, y, i * w, w, cf, cs);
    }
    public static void main(String[] a) {
        if (a.length < 3) {
            System.err.println("usage: RowPlacementProbe ROWS CALLS WIDTH");
            System.exit(2);
        }
        int n = Integer.parseInt(a[0]), w = Integer.parseInt(a[2]);
        int cs = w + Math.floorMod(336 - w, 1024);
        float[] cf = new float[3 * cs];
        for (int i = 0; i < cf.length; i++) cf[i] = 0.5f + i % 7;
        int[] modes = {1, 4, 5, 6, 7};
        for (int gap : new int[]{0, 1, 2}) {
            float[] x = new float[n * w];
            float[][] gaps = new float[gap][];
            for (int k = 0; k < gap; k++) gaps[k] = new float[n * w];
            float[] y = new float[n * w];
            java.util.Arrays.fill(x, 1.5f);
            double[] best = new double[8];
            java.util.Arrays.fill(best, 1e9);
            for (int rep = 0; rep < 3; rep++)
                for (int mode : modes)
                    for (int k = 0; k < Integer.parseInt(a[1]); k++) {
                        long t0 = System.nanoTime();
                        all(mode, x, y, n, w, cf, cs);
                        best[mode] = Math.min(best[mode], (System.nanoTime() - t0) / 1e6);
                    }
            System.out.printf("w %d gap %d: row %.3f four %.3f fourLoadsFirst %.3f fourQuarters %.3f quartersLoadsFirst %.3f%n", w, gap, best[1], best[4], best[5], best[6], best[7]);
        }
    }
}
