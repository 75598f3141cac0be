package dev.vecnorm.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files (format 1.0-3.0) holding little-endian float32 ({@code <f4}),
 * float64 ({@code <f8}) or int64 ({@code <i8}, as PyTorch saves counters such as {@code num_batches_tracked})
 * arrays in C order. Anything else (other dtypes, big-endian, Fortran order, pickles) is
 * rejected with an {@link IOException} that says what was found.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** Element type of an array. */
    public enum DType {
        FLOAT32("<f4", 4), FLOAT64("<f8", 8), INT64("<i8", 8);

        final String descr;
        final int bytes;

        DType(String descr, int bytes) {
            this.descr = descr;
            this.bytes = bytes;
        }
    }

    /**
     * An array read from a file: its shape, its values widened to double, and its stored type.
     *
     * @param shape the dims (empty for a scalar)
     * @param values the elements in C order, widened to double (exactly, for int64 up to 2^53 in magnitude)
     * @param dtype the type stored in the file
     */
    public record NpyArray(int[] shape, double[] values, DType dtype) {
        /** The values narrowed to float (exact for float32 files). */
        public float[] toFloats() {
            float[] out = new float[values.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) values[i];
            }
            return out;
        }

        @Override
        public String toString() {
            return dtype + Arrays.toString(shape);
        }
    }

    /** Reads a float32, float64 or int64 .npy file. */
    public static NpyArray read(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        try {
            return parse(bytes);
        } catch (IOException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
    }

    private static NpyArray parse(byte[] bytes) throws IOException {
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IOException("not a .npy file (bad magic)");
        }
        int major = bytes[6];
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = Short.toUnsignedInt(buf.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            headerLength = buf.getInt(8);
            headerStart = 12;
        } else {
            throw new IOException("unsupported .npy format version " + major);
        }
        if (headerLength < 0 || headerStart + (long) headerLength > bytes.length) {
            throw new IOException("truncated header (header length " + headerLength + ", file " + bytes.length
                    + " bytes)");
        }
        String header = new String(bytes, headerStart, headerLength,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, "descr");
        DType dtype = Arrays.stream(DType.values()).filter(d -> d.descr.equals(descr)).findFirst()
                .orElseThrow(() -> new IOException("unsupported dtype '" + descr
                        + "': only little-endian float32 (<f4) and float64 (<f8) are read"));
        if (group(FORTRAN, header, "fortran_order").equals("True")) {
            throw new IOException("Fortran-order arrays are not supported");
        }
        String dims = group(SHAPE, header, "shape").trim();
        int[] shape;
        try {
            shape = dims.isEmpty() ? new int[0]
                    : Arrays.stream(dims.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                            .mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IOException("bad shape (" + dims + "): " + e.getMessage());
        }
        long count = 1;
        for (int d : shape) {
            // A negative dimension, or a count past what one array holds, is a broken header, whatever the
            // file's length says (two negative dimensions would multiply to a plausible count).
            if (d < 0 || (d > 0 && count > Integer.MAX_VALUE / d)) {
                throw new IOException("bad shape " + Arrays.toString(shape) + " in header");
            }
            count *= d;
        }
        int dataStart = headerStart + headerLength;
        if (count * dtype.bytes != bytes.length - dataStart) {
            throw new IOException("shape " + Arrays.toString(shape) + " of " + descr + " needs "
                    + count * dtype.bytes + " data bytes, file has " + (bytes.length - dataStart));
        }
        double[] values = new double[(int) count];
        for (int i = 0; i < values.length; i++) {
            int at = dataStart + i * dtype.bytes;
            values[i] = switch (dtype) {
                case FLOAT32 -> buf.getFloat(at);
                case FLOAT64 -> buf.getDouble(at);
                case INT64 -> buf.getLong(at);
            };
        }
        return new NpyArray(shape, values, dtype);
    }

    private static String group(Pattern p, String header, String key) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException("header has no '" + key + "': " + header.trim());
        }
        return m.group(1);
    }

    /** Writes a float32 array of the given shape (C order, format 1.0). */
    public static void writeFloat32(Path path, int[] shape, float[] data) throws IOException {
        checkCount(shape, data.length);
        ByteBuffer body = header(shape, DType.FLOAT32, data.length);
        for (float f : data) {
            body.putFloat(f);
        }
        Files.write(path, body.array());
    }

    /** Writes a float64 array of the given shape (C order, format 1.0). */
    public static void writeFloat64(Path path, int[] shape, double[] data) throws IOException {
        checkCount(shape, data.length);
        ByteBuffer body = header(shape, DType.FLOAT64, data.length);
        for (double d : data) {
            body.putDouble(d);
        }
        Files.write(path, body.array());
    }

    /** Writes an int64 array of the given shape (C order, format 1.0); shape {} is a scalar. */
    public static void writeInt64(Path path, int[] shape, long[] data) throws IOException {
        checkCount(shape, data.length);
        ByteBuffer body = header(shape, DType.INT64, data.length);
        for (long v : data) {
            body.putLong(v);
        }
        Files.write(path, body.array());
    }

    private static void checkCount(int[] shape, int length) {
        long count = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dim in shape " + Arrays.toString(shape));
            }
            count *= d;
        }
        if (count != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + count
                    + " elements, data has " + length);
        }
    }

    private static ByteBuffer header(int[] shape, DType dtype, int count) {
        StringBuilder dims = new StringBuilder();
        for (int d : shape) {
            dims.append(d).append(", ");
        }
        if (shape.length > 1) {
            dims.setLength(dims.length() - 2);
        } else if (shape.length == 1) {
            dims.setLength(dims.length() - 1);
        }
        String dict = "{'descr': '" + dtype.descr + "', 'fortran_order': False, 'shape': (" + dims.toString().trim()
                + "), }";
        // Pad with spaces and a newline so that the data starts at a multiple of 64 bytes.
        int unpadded = 10 + dict.length() + 1;
        int padded = (unpadded + 63) / 64 * 64;
        String header = dict + " ".repeat(padded - unpadded) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(10 + header.length() + count * dtype.bytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        buf.put(header.getBytes(StandardCharsets.ISO_8859_1));
        return buf;
    }
}
