package dev.vecnorm.spark;

import dev.vecnorm.Layout;
import java.util.List;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The parameters {@link ChannelStandardizer} and its model share, made once for each owner. */
final class StandardizerParams {

    static final String CHANNELS_FIRST = "channelsFirst";
    static final String CHANNELS_LAST = "channelsLast";

    private StandardizerParams() {
    }

    static Param<String> inputCol(Params owner) {
        return new Param<>(owner, "inputCol", "tensor column: array<float> or binary (little-endian float32)");
    }

    static Param<String> outputCol(Params owner) {
        return new Param<>(owner, "outputCol", "output column (array<float>)");
    }

    static IntArrayParam shape(Params owner) {
        return new IntArrayParam(owner, "shape", "each row's tensor dims (C, spatial...)");
    }

    static Param<String> layout(Params owner) {
        return new Param<>(owner, "layout", "memory order of each row: channelsFirst (CHW) or channelsLast (HWC)",
                ParamValidators.inArray(List.of(CHANNELS_FIRST, CHANNELS_LAST)));
    }

    static BooleanParam withMean(Params owner) {
        return new BooleanParam(owner, "withMean", "subtract each channel's mean");
    }

    static BooleanParam withStd(Params owner) {
        return new BooleanParam(owner, "withStd", "divide by each channel's (unbiased) standard deviation");
    }

    static Layout layoutOf(String name) {
        return CHANNELS_LAST.equals(name) ? Layout.CHANNELS_LAST : Layout.CHANNELS_FIRST;
    }

    /**
     * The schema with the output column added, after checking the input column's type and the shape.
     *
     * @throws IllegalArgumentException on a missing or mistyped input column, a bad shape, or an output column
     *     that exists already
     */
    static StructType outputSchema(StructType schema, String inputCol, String outputCol, int[] shape) {
        TensorRows.of(schema, inputCol);
        TensorShape.channelsFirst(shape);
        if (List.of(schema.fieldNames()).contains(outputCol)) {
            throw new IllegalArgumentException("output column '" + outputCol + "' exists already");
        }
        return schema.add(outputCol, DataTypes.createArrayType(DataTypes.FloatType, false), true);
    }
}
