package dev.vecnorm.spark;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;

/**
 * The tensor column types understood here, and copying one row's floats out of Spark's internal rows without
 * boxing. {@code array<float>} holds the floats; {@code binary} holds them as little-endian float32 (4 bytes
 * each, no header).
 */
enum TensorRows {
    FLOAT_ARRAY,
    FLOAT32_LE_BINARY;

    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /**
     * The kind of the column in the schema.
     *
     * @throws IllegalArgumentException if the column is missing or of another type, naming it
     */
    static TensorRows of(StructType schema, String column) {
        if (column == null) {
            throw new IllegalArgumentException("column must not be null");
        }
        StructField field = Arrays.stream(schema.fields()).filter(f -> f.name().equals(column)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("column '" + column + "' not found; columns are "
                        + Arrays.toString(schema.fieldNames())));
        DataType type = field.dataType();
        if (type instanceof ArrayType array && array.elementType().equals(DataTypes.FloatType)) {
            return FLOAT_ARRAY;
        }
        if (type instanceof BinaryType) {
            return FLOAT32_LE_BINARY;
        }
        throw new IllegalArgumentException("column '" + column + "' has type " + type.simpleString()
                + "; expected array<float> or binary (little-endian float32)");
    }

    /**
     * Copies the tensor in field 0 of {@code row} into {@code dst[offset...]}.
     *
     * @param partition and {@code position} name the row in error messages ("row 3 of partition 1"); the name
     *     is built only for a row that fails
     * @throws IllegalArgumentException if the value is null, holds a null element, or has the wrong length
     */
    void copy(InternalRow row, int rowLength, float[] dst, int offset, int partition, long position) {
        if (row.isNullAt(0)) {
            throw new IllegalArgumentException(name(partition, position) + " is null; every row must hold a tensor");
        }
        if (this == FLOAT_ARRAY) {
            copyArray(row.getArray(0), rowLength, dst, offset, partition, position);
        } else {
            byte[] bytes = row.getBinary(0);
            if (bytes.length != 4L * rowLength) {
                throw new IllegalArgumentException(name(partition, position) + " has " + bytes.length + " bytes, expected "
                        + 4L * rowLength + " (" + rowLength + " float32 values)");
            }
            if (LITTLE_ENDIAN) {
                Platform.copyMemory(bytes, Platform.BYTE_ARRAY_OFFSET, dst, Platform.FLOAT_ARRAY_OFFSET + 4L * offset,
                        4L * rowLength);
            } else {
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, offset, rowLength);
            }
        }
    }

    static String name(int partition, long position) {
        return "row " + position + " of partition " + partition;
    }

    private static void copyArray(ArrayData values, int rowLength, float[] dst, int offset, int partition,
            long position) {
        int length = values.numElements();
        if (length != rowLength) {
            throw new IllegalArgumentException(name(partition, position) + " has " + length + " floats, expected " + rowLength);
        }
        if (values instanceof UnsafeArrayData unsafe && LITTLE_ENDIAN) {
            // Layout: 8-byte count, null bitmap (one bit per element, in 8-byte words), then the floats.
            Object base = unsafe.getBaseObject();
            long at = unsafe.getBaseOffset();
            for (long word = at + 8; word < at + UnsafeArrayData.calculateHeaderPortionInBytes(length); word += 8) {
                if (Platform.getLong(base, word) != 0) {
                    throw new IllegalArgumentException(name(partition, position) + " holds a null element");
                }
            }
            Platform.copyMemory(base, at + UnsafeArrayData.calculateHeaderPortionInBytes(length), dst,
                    Platform.FLOAT_ARRAY_OFFSET + 4L * offset, 4L * rowLength);
            return;
        }
        for (int k = 0; k < length; k++) {
            if (values.isNullAt(k)) {
                throw new IllegalArgumentException(name(partition, position) + " holds a null element at index " + k);
            }
            dst[offset + k] = values.getFloat(k);
        }
    }
}
