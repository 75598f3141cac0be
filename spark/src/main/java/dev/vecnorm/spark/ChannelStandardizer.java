package dev.vecnorm.spark;

import dev.vecnorm.ChannelMoments;
import java.io.IOException;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * Spark ML estimator: learns each channel's mean and standard deviation of a tensor column over the whole
 * dataset (with {@link ChannelStatistics}, vecnorm's kernels per partition) and returns a
 * {@link ChannelStandardizerModel} that maps every tensor to {@code (x - mean) / std} per channel. Like Spark ML's
 * {@code StandardScaler} the std is the unbiased one and a channel of zero std maps to 0; unlike it, statistics
 * are per channel of an (C, spatial...) tensor in either layout, not per feature (a feature vector is shape (F)).
 *
 * <p>Saves and loads like any Spark ML stage, alone or inside a Pipeline.
 */
public final class ChannelStandardizer extends Estimator<ChannelStandardizerModel> implements MLWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final IntArrayParam shape;
    private final Param<String> layout;
    private final BooleanParam withMean;
    private final BooleanParam withStd;

    public ChannelStandardizer() {
        this(Identifiable.randomUID("channelStandardizer"));
    }

    public ChannelStandardizer(String uid) {
        this.uid = uid;
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

    public ChannelStandardizer setInputCol(String value) {
        set(inputCol, value);
        return this;
    }

    public ChannelStandardizer setOutputCol(String value) {
        set(outputCol, value);
        return this;
    }

    /** Each row's tensor dims (C, spatial...). */
    public ChannelStandardizer setShape(int... value) {
        set(shape, value.clone());
        return this;
    }

    /** "channelsFirst" (default) or "channelsLast". */
    public ChannelStandardizer setLayout(String value) {
        set(layout, value);
        return this;
    }

    public ChannelStandardizer setWithMean(boolean value) {
        set(withMean, value);
        return this;
    }

    public ChannelStandardizer setWithStd(boolean value) {
        set(withStd, value);
        return this;
    }

    /** The declared row shape with its layout. */
    TensorShape tensorShape() {
        return TensorShape.of(StandardizerParams.layoutOf(getOrDefault(layout)), getOrDefault(shape));
    }

    @Override
    public ChannelStandardizerModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        ChannelMoments moments = ChannelStatistics.of(dataset, getOrDefault(inputCol), tensorShape());
        ChannelStandardizerModel model = new ChannelStandardizerModel(uid, moments);
        return copyValues(model, ParamMap.empty()).setParent(this);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return StandardizerParams.outputSchema(schema, getOrDefault(inputCol), getOrDefault(outputCol),
                getOrDefault(shape));
    }

    @Override
    public ChannelStandardizer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                DefaultParamsWriter.saveMetadata(ChannelStandardizer.this, path, sparkSession());
            }
        };
    }

    @Override
    public void save(String path) throws IOException {
        write().save(path);
    }

    /** The reader of {@link #save}d estimators (what Spark ML's Pipeline calls by reflection). */
    public static MLReader<ChannelStandardizer> read() {
        return new MLReader<>() {
            @Override
            public ChannelStandardizer load(String path) {
                DefaultParamsReader.Metadata metadata = DefaultParamsReader.loadMetadata(path, sparkSession(),
                        ChannelStandardizer.class.getName());
                ChannelStandardizer estimator = new ChannelStandardizer(metadata.uid());
                metadata.getAndSetParams(estimator, Option.empty());
                return estimator;
            }
        };
    }

    public static ChannelStandardizer load(String path) {
        return read().load(path);
    }
}
