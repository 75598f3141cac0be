package dev.vecnorm.bench.compare;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds the ONNX model of one BatchNormalization node (opset 15, NCHW with symbolic N, H, W) as protobuf bytes,
 * field by field from onnx.proto, so no protobuf library or Python is needed to benchmark ONNX Runtime.
 */
final class OnnxModel {

    private static final int FLOAT = 1;

    private OnnxModel() {
    }

    /** A tiny protobuf writer: varints, tags, length-delimited fields. */
    private static final class Proto {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
            return this;
        }

        Proto int64(int field, long v) {
            return varint((long) field << 3).varint(v);
        }

        Proto float32(int field, float v) {
            varint((long) field << 3 | 5);
            int bits = Float.floatToIntBits(v);
            for (int i = 0; i < 4; i++) {
                out.write((bits >>> (8 * i)) & 0xFF);
            }
            return this;
        }

        Proto bytes(int field, byte[] b) {
            varint((long) field << 3 | 2).varint(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.out.toByteArray());
        }
    }

    /** ValueInfoProto of a float tensor; a dim is a number or a symbolic name. */
    private static Proto tensor(String name, Object... dims) {
        Proto shape = new Proto();
        for (Object d : dims) {
            Proto dim = d instanceof Integer i ? new Proto().int64(1, i) : new Proto().string(2, (String) d);
            shape.message(1, dim);
        }
        Proto tensorType = new Proto().int64(1, FLOAT).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /**
     * BatchNormalization(X, scale, B, input_mean, input_var) with the given attributes; training mode adds the
     * running_mean and running_var outputs.
     */
    static byte[] batchNormalization(int channels, int spatialRank, float epsilon, float momentum,
            boolean training) {
        Proto node = new Proto();
        for (String in : new String[] {"X", "scale", "B", "input_mean", "input_var"}) {
            node.string(1, in);
        }
        node.string(2, "Y");
        if (training) {
            node.string(2, "running_mean").string(2, "running_var");
        }
        node.string(3, "bn").string(4, "BatchNormalization");
        node.message(5, new Proto().string(1, "epsilon").float32(2, epsilon).int64(20, 1));
        node.message(5, new Proto().string(1, "momentum").float32(2, momentum).int64(20, 1));
        node.message(5, new Proto().string(1, "training_mode").int64(3, training ? 1 : 0).int64(20, 2));

        Object[] xDims = new Object[2 + spatialRank];
        xDims[0] = "N";
        xDims[1] = channels;
        for (int k = 0; k < spatialRank; k++) {
            xDims[2 + k] = "D" + k;
        }
        Proto graph = new Proto().message(1, node).string(2, "batchnorm");
        graph.message(11, tensor("X", xDims));
        for (String p : new String[] {"scale", "B", "input_mean", "input_var"}) {
            graph.message(11, tensor(p, channels));
        }
        graph.message(12, tensor("Y", xDims));
        if (training) {
            graph.message(12, tensor("running_mean", channels)).message(12, tensor("running_var", channels));
        }
        return new Proto().int64(1, 8).string(2, "vecnorm").message(7, graph)
                .message(8, new Proto().string(1, "").int64(2, 15)).out.toByteArray();
    }
}
