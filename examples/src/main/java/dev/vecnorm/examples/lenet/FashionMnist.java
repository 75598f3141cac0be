package dev.vecnorm.examples.lenet;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its gzipped IDX files (Debian's {@code dataset-fashion-mnist} installs them in
 * {@link #DEBIAN_DIR}): 28 x 28 images scaled to [0, 1] as torchvision's ToTensor does, and labels 0-9.
 *
 * @param images n x 784 floats, one image after the other
 * @param labels n labels
 */
public record FashionMnist(float[] images, byte[] labels) {

    /** Where the Debian package puts the files. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    static final int SIDE = 28;
    static final int PIXELS = SIDE * SIDE;

    /** Images in the set. */
    public int size() {
        return labels.length;
    }

    /** The training set (60,000) or the test set (10,000) from {@code dir}. */
    public static FashionMnist load(Path dir, boolean train) throws IOException {
        String prefix = train ? "train" : "t10k";
        Path images = dir.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labels = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        for (Path p : new Path[] {images, labels}) {
            if (!Files.isRegularFile(p)) {
                throw new IOException(p + " is missing: install Debian's dataset-fashion-mnist package "
                        + "(apt-get install dataset-fashion-mnist) or pass the folder that holds the IDX files");
            }
        }
        return of(images, labels, Integer.MAX_VALUE);
    }

    /** At most {@code limit} images and their labels from a pair of gzipped IDX files. */
    public static FashionMnist of(Path imageFile, Path labelFile, int limit) throws IOException {
        byte[] labels;
        try (DataInputStream in = open(labelFile)) {
            int count = header(in, labelFile, 0x801, 0);
            labels = new byte[Math.min(count, limit)];
            in.readFully(labels);
        } catch (EOFException e) {
            throw new IOException(labelFile + " ends before its last label", e);
        }
        float[] images;
        try (DataInputStream in = open(imageFile)) {
            int count = header(in, imageFile, 0x803, 2);
            if (count < labels.length) {
                throw new IOException(imageFile + " has " + count + " images for " + labels.length + " labels");
            }
            byte[] pixels = new byte[labels.length * PIXELS];
            in.readFully(pixels);
            images = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                images[i] = (pixels[i] & 0xff) / 255f;
            }
        } catch (EOFException e) {
            throw new IOException(imageFile + " ends before its last image", e);
        }
        return new FashionMnist(images, labels);
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
    }

    /** Checks the magic number and, for images, 28 x 28; returns the item count. */
    private static int header(DataInputStream in, Path file, int magic, int imageDims) throws IOException {
        int found = in.readInt();
        if (found != magic) {
            throw new IOException(file + ": IDX magic 0x" + Integer.toHexString(found) + ", expected 0x"
                    + Integer.toHexString(magic));
        }
        int count = in.readInt();
        if (count < 0) {
            throw new IOException(file + ": negative item count " + count);
        }
        for (int d = 0; d < imageDims; d++) {
            int side = in.readInt();
            if (side != SIDE) {
                throw new IOException(file + ": images are not 28 x 28 (dimension " + side + ")");
            }
        }
        return count;
    }
}
