package dev.vecnorm.spark.example;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Reads gzip-compressed IDX image files (MNIST, Fashion-MNIST): unsigned bytes, big-endian header. */
public final class Idx {

    /** Magic of an IDX file of unsigned bytes with 3 dims (images, rows, columns). */
    private static final int IMAGES_MAGIC = 0x00000803;

    /** The dims (images, rows, columns) of an image file. */
    public record Header(int images, int rows, int columns) {
        public int pixels() {
            return rows * columns;
        }
    }

    private Idx() {
    }

    public static Header header(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            return readHeader(in, file);
        }
    }

    /**
     * Images [from, to) as floats in [0, 1] (pixel / 255), one image after another, row-major.
     *
     * @throws IllegalArgumentException if the range is outside the file's images
     */
    public static float[] images(Path file, int from, int to) throws IOException {
        try (DataInputStream in = open(file)) {
            Header h = readHeader(in, file);
            if (from < 0 || to > h.images() || from > to) {
                throw new IllegalArgumentException("image range [" + from + ", " + to + ") is outside the "
                        + h.images() + " images of " + file);
            }
            in.skipNBytes((long) from * h.pixels());
            byte[] raw = new byte[(to - from) * h.pixels()];
            in.readFully(raw);
            float[] out = new float[raw.length];
            for (int k = 0; k < raw.length; k++) {
                out[k] = (raw[k] & 0xff) / 255f;
            }
            return out;
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16));
    }

    private static Header readHeader(DataInputStream in, Path file) throws IOException {
        int magic = in.readInt();
        if (magic != IMAGES_MAGIC) {
            throw new IllegalArgumentException(file + " is not an IDX image file: magic 0x"
                    + Integer.toHexString(magic) + ", expected 0x803");
        }
        return new Header(in.readInt(), in.readInt(), in.readInt());
    }
}
