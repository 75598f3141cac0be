package dev.vecnorm.bench.compare;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * ONNX Runtime's Java API (CPU provider) in the same JVM: one session per mode on a model built in code. Input
 * tensors are created once; each timed call is {@code session.run}, which allocates its outputs as ORT does.
 */
final class OnnxRuntimePeer implements AutoCloseable {

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession training;
    private final OrtSession inference;
    private final Map<String, OnnxTensor> inputs;
    private final float[] lastY;

    /** Loads ONNX Runtime; the caller catches LinkageError when its jar is absent. */
    OnnxRuntimePeer(int[] dims, float[] x, float[] gamma, float[] beta, float[] mean, float[] var, int threads)
            throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        int c = dims[1];
        training = env.createSession(OnnxModel.batchNormalization(c, dims.length - 2, 1e-5f, 0.9f, true), options);
        inference = env.createSession(OnnxModel.batchNormalization(c, dims.length - 2, 1e-5f, 0.9f, false),
                options);
        long[] shape = Arrays.stream(dims).mapToLong(d -> d).toArray();
        long[] perChannel = {c};
        inputs = Map.of(
                "X", OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape),
                "scale", OnnxTensor.createTensor(env, FloatBuffer.wrap(gamma), perChannel),
                "B", OnnxTensor.createTensor(env, FloatBuffer.wrap(beta), perChannel),
                "input_mean", OnnxTensor.createTensor(env, FloatBuffer.wrap(mean), perChannel),
                "input_var", OnnxTensor.createTensor(env, FloatBuffer.wrap(var), perChannel));
        lastY = new float[x.length];
    }

    /** Runs one call; when {@code keep} is set, copies Y out for the error check. */
    void run(boolean trainingMode, boolean keep) {
        try (OrtSession.Result r = (trainingMode ? training : inference).run(inputs)) {
            if (keep) {
                ((OnnxTensor) r.get(0)).getFloatBuffer().get(lastY);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    float[] lastY() {
        return lastY;
    }

    static String version() {
        return OrtEnvironment.getEnvironment().getVersion();
    }

    @Override
    public void close() throws OrtException {
        for (OnnxTensor t : inputs.values()) {
            t.close();
        }
        training.close();
        inference.close();
    }
}
