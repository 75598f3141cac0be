package dev.vecnorm.spark;

import dev.vecnorm.BatchNormOps;
import dev.vecnorm.ChannelMoments;
import dev.vecnorm.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * The fitted {@link ChannelStandardizer}: the dataset's per-channel moments, and a transform that writes
 * {@code (x - mean) / std} of every row's tensor (same shape and layout) into the output column, with the engine's
 * inference kernel. Saves its moments in their binary form beside Spark ML's parameter metadata.
 */
public final class ChannelStandardizerModel extends Model<ChannelStandardizerModel> implements MLWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;
    /** The moments in binary form: ChannelMoments itself is not Serializable, and Spark serializes stages. */
    private final byte[] moments;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final IntArrayParam shape;
    private final Param<String> layout;
    private final BooleanParam withMean;
    private final BooleanParam withStd;

    ChannelStandardizerModel(String uid, ChannelMoments moments) {
        this.uid = uid;
        this.moments = moments.toBytes();
        this.inputCol = StandardizerParams.inputCol(this);
        this.outputCol = StandardizerParams.outputCol(this);
        this.shape = StandardizerParams.shape(this);
        this.layout = StandardizerParams.layout(this);
        this.withMean = StandardizerParams.withMean(this);
        this.withStd = StandardizerParams.withStd(this);
        setDefault(outputCol, uid + "__output");
        setDefault(layout, StandardizerParams.CHANNELS_FIRST);
        setDefault(withMean, true);
        setDefault(withStd, true);
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The learned moments: count, per-channel mean and M2. */
    public ChannelMoments moments() {
        return ChannelMoments.fromBytes(moments);
    }

    /** Per-channel mean. */
    public double[] mean() {
        return moments().mean();
    }

    /** Per-channel unbiased standard deviation, as Spark ML's StandardScaler reports it. */
    public double[] std() {
        return moments().unbiasedStd();
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public IntArrayParam shape() {
        return shape;
    }

    public Param<String> layout() {
        return layout;
    }

    public BooleanParam withMean() {
        return withMean;
    }

    public BooleanParam withStd() {
        return withStd;
    }

    public ChannelStandardizerModel setInputCol(String value) {
        set(inputCol, value);
        return this;
    }

    public ChannelStandardizerModel setOutputCol(String value) {
        set(outputCol, value);
        return this;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return StandardizerParams.outputSchema(schema, getOrDefault(inputCol), getOrDefault(outputCol),
                getOrDefault(shape));
    }

    /**
     * Adds the output column. A row whose tensor is null or of the wrong length fails the job with an
     * IllegalArgumentException naming the row (position within its partition).
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType outSchema = transformSchema(dataset.schema(), true);
        TensorShape tensor = TensorShape.of(StandardizerParams.layoutOf(getOrDefault(layout)), getOrDefault(shape));
        ChannelMoments learned = moments();
        if (learned.channels() != tensor.channels()) {
            throw new IllegalArgumentException("shape " + tensor + " has " + tensor.channels()
                    + " channels but the model learned " + learned.channels());
        }
        int c = tensor.channels();
        // forwardInference computes (x - mean) * gamma / sqrt(var): gamma 0 and var 1 give a zero-std channel 0.
        float[] center = new float[c];
        float[] variance = new float[c];
        float[] gamma = new float[c];
        boolean subtract = (Boolean) getOrDefault(withMean);
        boolean divide = (Boolean) getOrDefault(withStd);
        double[] std = learned.count() > 1 ? learned.unbiasedStd() : new double[c];
        for (int ch = 0; ch < c; ch++) {
            center[ch] = subtract ? (float) learned.mean(ch) : 0f;
            variance[ch] = divide && std[ch] > 0 ? (float) (std[ch] * std[ch]) : 1f;
            gamma[ch] = divide && !(std[ch] > 0) ? 0f : 1f;
        }
        int input = dataset.schema().fieldIndex(getOrDefault(inputCol));
        TensorRows kind = TensorRows.of(dataset.schema(), getOrDefault(inputCol));
        JavaRDD<Row> rows = dataset.toDF().javaRDD().mapPartitionsWithIndex(
                (partition, it) -> standardize(partition, it, input, kind, tensor, center, variance, gamma), true);
        return dataset.sparkSession().createDataFrame(rows, outSchema);
    }

    private static Iterator<Row> standardize(int partition, Iterator<Row> rows, int input, TensorRows kind,
            TensorShape tensor, float[] center, float[] variance, float[] gamma) {
        BatchNormOps ops = BatchNormOps.get().singleThreaded();
        int[] rowShape = tensor.batchShape(1);
        Layout layout = tensor.layout();
        int length = tensor.rowLength();
        return new Iterator<>() {
            private long position;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                Row row = rows.next();
                float[] x = read(row, input, kind, length, partition, position++);
                ops.forwardInference(layout, rowShape, x, 0, x, 0, gamma, null, center, variance, 0.0);
                Object[] values = new Object[row.size() + 1];
                for (int i = 0; i < row.size(); i++) {
                    values[i] = row.get(i);
                }
                values[row.size()] = x;
                return RowFactory.create(values);
            }
        };
    }

    /** The row's tensor as a new float[] (it becomes the output). */
    private static float[] read(Row row, int input, TensorRows kind, int length, int partition, long position) {
        if (row.isNullAt(input)) {
            throw new IllegalArgumentException(TensorRows.name(partition, position)
                    + " is null; every row must hold a tensor");
        }
        float[] x = new float[length];
        if (kind == TensorRows.FLOAT32_LE_BINARY) {
            byte[] bytes = (byte[]) row.get(input);
            if (bytes.length != 4L * length) {
                throw new IllegalArgumentException(TensorRows.name(partition, position) + " has " + bytes.length
                        + " bytes, expected " + 4L * length + " (" + length + " float32 values)");
            }
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(x);
            return x;
        }
        List<Object> values = row.getList(input);
        if (values.size() != length) {
            throw new IllegalArgumentException(TensorRows.name(partition, position) + " has " + values.size()
                    + " floats, expected " + length);
        }
        for (int k = 0; k < length; k++) {
            Object v = values.get(k);
            if (v == null) {
                throw new IllegalArgumentException(TensorRows.name(partition, position)
                        + " holds a null element at index " + k);
            }
            x[k] = (Float) v;
        }
        return x;
    }

    @Override
    public ChannelStandardizerModel copy(ParamMap extra) {
        ChannelStandardizerModel copied = copyValues(new ChannelStandardizerModel(uid, moments()), extra);
        return copied.setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                DefaultParamsWriter.saveMetadata(ChannelStandardizerModel.this, path, sparkSession());
                StructType schema = new StructType().add("moments", DataTypes.BinaryType, false);
                List<Row> data = new ArrayList<>();
                data.add(RowFactory.create((Object) moments));
                sparkSession().createDataFrame(data, schema).repartition(1).write().parquet(path + "/data");
            }
        };
    }

    @Override
    public void save(String path) throws IOException {
        write().save(path);
    }

    /** The reader of {@link #save}d models (what Spark ML's PipelineModel calls by reflection). */
    public static MLReader<ChannelStandardizerModel> read() {
        return new MLReader<>() {
            @Override
            public ChannelStandardizerModel load(String path) {
                DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path, sparkSession(),
                        ChannelStandardizerModel.class.getName());
                byte[] bytes = (byte[]) sparkSession().read().parquet(path + "/data").head().get(0);
                ChannelStandardizerModel model = new ChannelStandardizerModel(metadata.uid(),
                        ChannelMoments.fromBytes(bytes));
                metadata.getAndSetParams(model, Option.empty());
                return model;
            }
        };
    }

    public static ChannelStandardizerModel load(String path) {
        return read().load(path);
    }
}
