package dev.vecnorm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .npy reader takes files from users: truncations, flipped bytes and absurd headers give an IOException
 * with a message, never another exception, an OutOfMemoryError or a hang.
 */
@Tag("width-independent")
class NpyFuzzTest {

    @TempDir
    Path dir;

    private byte[] valid() throws IOException {
        Path p = dir.resolve("valid.npy");
        Npy.writeFloat32(p, new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
        return Files.readAllBytes(p);
    }

    /** Reads bytes as a file: either a value or an IOException with a message; anything else fails. */
    private Npy.NpyArray readOrIoException(byte[] bytes, String what) {
        return assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            Path p = Files.write(dir.resolve("case.npy"), bytes);
            try {
                return Npy.read(p);
            } catch (IOException e) {
                assertFalse(e.getMessage() == null || e.getMessage().isBlank(), what + ": empty message");
                return null;
            } catch (Throwable t) {
                fail(what + ": " + t, t);
                return null;
            }
        }, what);
    }

    private static byte[] withHeader(int major, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        int prefix = major == 1 ? 10 : 12;
        ByteBuffer b = ByteBuffer.allocate(prefix + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'}).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) h.length);
        } else {
            b.putInt(h.length);
        }
        b.put(h);
        return b.array();
    }

    @Test
    void everyTruncationIsAnIoException() throws IOException {
        byte[] ok = valid();
        assertArrayEquals(new int[] {2, 3}, readOrIoException(ok, "intact").shape());
        for (int length = 0; length < ok.length; length++) {
            byte[] cut = java.util.Arrays.copyOf(ok, length);
            assertEquals(null, readOrIoException(cut, "truncated to " + length), "truncated to " + length);
        }
    }

    @Test
    void flippedBytesGiveAValueOrAnIoException() throws IOException {
        byte[] ok = valid();
        SplittableRandom r = new SplittableRandom(11);
        for (int round = 0; round < 400; round++) {
            byte[] bad = ok.clone();
            int flips = 1 + r.nextInt(4);
            for (int f = 0; f < flips; f++) {
                // Mostly the magic and header, where the parser makes its decisions.
                int at = r.nextInt(4) == 0 ? r.nextInt(bad.length) : r.nextInt(Math.min(bad.length, 80));
                bad[at] = (byte) r.nextInt(256);
            }
            readOrIoException(bad, "round " + round);
        }
    }

    @Test
    void absurdHeadersAreIoExceptions() {
        String[] shapes = {"(99999999999,)", "(-1, -6)", "(-6,)", "(2147483647, 2147483647)", "(65536, 65536)",
            "(abc,)", "(2, 3", "(1e3,)", "(, , )"};
        for (String shape : shapes) {
            String h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }\n";
            assertEquals(null, readOrIoException(withHeader(1, h, 24), "shape " + shape), "shape " + shape);
        }
        String[] headers = {"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }\n",
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
            "{'fortran_order': False, 'shape': (2, 3), }\n", "{}\n", ""};
        for (String h : headers) {
            assertEquals(null, readOrIoException(withHeader(1, h, 24), "header " + h), "header " + h);
        }
        // Format 2.0 with a negative or enormous header length.
        byte[] v2 = withHeader(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", 24);
        ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -5);
        assertEquals(null, readOrIoException(v2, "negative header length"));
        ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN).putInt(8, Integer.MAX_VALUE);
        assertEquals(null, readOrIoException(v2, "huge header length"));
    }
}
