package dev.vecnorm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecnorm.io.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("width-independent")
class NpyTest {

    @Test
    void float32AndFloat64RoundTrip(@TempDir Path dir) throws IOException {
        float[] f = {1.5f, -0f, Float.NaN, Float.MIN_VALUE, 3e38f, -7f};
        Npy.writeFloat32(dir.resolve("f.npy"), new int[] {2, 3}, f);
        Npy.NpyArray a = Npy.read(dir.resolve("f.npy"));
        assertEquals(Npy.DType.FLOAT32, a.dtype());
        assertArrayEquals(new int[] {2, 3}, a.shape());
        assertArrayEquals(f, a.toFloats());

        double[] d = {Math.PI, -1e-300, 1e300};
        Npy.writeFloat64(dir.resolve("d.npy"), new int[] {3}, d);
        Npy.NpyArray b = Npy.read(dir.resolve("d.npy"));
        assertEquals(Npy.DType.FLOAT64, b.dtype());
        assertArrayEquals(new int[] {3}, b.shape());
        assertArrayEquals(d, b.values());

        Npy.writeFloat32(dir.resolve("s.npy"), new int[0], new float[] {4f});
        assertArrayEquals(new int[0], Npy.read(dir.resolve("s.npy")).shape());
        // numpy aligns the data to 64 bytes; so do we.
        assertEquals(0, (Files.size(dir.resolve("f.npy")) - 6 * 4) % 64);
    }

    @Test
    void int64RoundTripAsPyTorchSavesCounters(@TempDir Path dir) throws IOException {
        long[] v = {0, -3, 1L << 53, 123_456_789_012L};
        Npy.writeInt64(dir.resolve("i.npy"), new int[] {2, 2}, v);
        Npy.NpyArray a = Npy.read(dir.resolve("i.npy"));
        assertEquals(Npy.DType.INT64, a.dtype());
        assertArrayEquals(new int[] {2, 2}, a.shape());
        assertArrayEquals(new double[] {0, -3, 0x1p53, 123_456_789_012.0}, a.values());
        // The bytes numpy writes for np.array(7, dtype=np.int64): a scalar, eight little-endian bytes at the end.
        Npy.writeInt64(dir.resolve("n.npy"), new int[0], new long[] {7});
        byte[] bytes = Files.readAllBytes(dir.resolve("n.npy"));
        assertEquals(7, bytes[bytes.length - 8]);
        assertEquals(0, (bytes.length - 8) % 64);
        assertTrue(new String(bytes, 10, bytes.length - 18, java.nio.charset.StandardCharsets.ISO_8859_1)
                .startsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (), }"));
    }

    private static void header(Path file, String dict, int dataBytes) throws IOException {
        byte[] h = dict.getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[10 + h.length + dataBytes];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length, 0};
        System.arraycopy(magic, 0, all, 0, 10);
        System.arraycopy(h, 0, all, 10, h.length);
        Files.write(file, all);
    }

    @Test
    void rejectsWhatItCannotRead(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("x.npy");
        header(p, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8);
        assertTrue(assertThrows(IOException.class, () -> Npy.read(p)).getMessage().contains(">f4"));
        header(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n", 8);
        assertTrue(assertThrows(IOException.class, () -> Npy.read(p)).getMessage().contains("<i4"));
        header(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16);
        assertTrue(assertThrows(IOException.class, () -> Npy.read(p)).getMessage().contains("Fortran"));
        header(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 8);
        assertTrue(assertThrows(IOException.class, () -> Npy.read(p)).getMessage().contains("data bytes"));
        Files.writeString(p, "hello, world");
        assertTrue(assertThrows(IOException.class, () -> Npy.read(p)).getMessage().contains("magic"));
        assertThrows(IllegalArgumentException.class,
                () -> Npy.writeFloat32(dir.resolve("y.npy"), new int[] {2, 2}, new float[3]));
    }
}
