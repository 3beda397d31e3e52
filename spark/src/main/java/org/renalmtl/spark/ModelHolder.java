package org.renalmtl.spark;

import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.loader.preprocess.Reorientation;
import org.renalmtl.pipeline.CasePipeline;

/**
 * One loaded model per executor JVM, shared by every task (partition) that JVM runs, closed when the JVM exits.
 *
 * <p>Why per JVM and not per partition: an executor is a long-lived JVM that runs many partitions, several at once
 * (one per executor core). Loading per partition would read the weights, hash them and plan the network again for
 * every partition, and hold one copy of the weights per concurrent task. A lazily filled, JVM-wide map loads the
 * model on the first case that needs it and keeps it for the executor's life; concurrent tasks share it (the model
 * serialises its forwards, while the other tasks read and preprocess their next cases). Its native memory is freed
 * by a shutdown hook, which runs when the executor is stopped at the end of the application (an executor killed
 * outright leaves the memory to the operating system anyway). Keyed by the model and the settings that make a
 * pipeline, so a long-lived JVM that runs two jobs with other models (or the tests, in {@code local} mode) gets the
 * right one.
 */
final class ModelHolder {
    /**
     * What a loaded pipeline is made of.
     *
     * @param modelUri the weight file, a qualified URI
     * @param sha256   its SHA-256 as the driver read it; a file changed since is refused
     * @param device   {@code cpu}, {@code cuda[:N]} or {@code auto}
     * @param reorient {@code none} or {@code ras}
     */
    record Key(String modelUri, String sha256, String device, String reorient) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    private record Loaded(Model model, CasePipeline pipeline, LocalFiles copy) {
    }

    private static final Map<Key, Loaded> LOADED = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ModelHolder::closeAll, "renal-mtl-model-close"));
    }

    private ModelHolder() {
    }

    /**
     * @param key the model and settings
     * @return this JVM's pipeline for them, loading the model on first use
     */
    static CasePipeline pipeline(Key key) {
        return LOADED.computeIfAbsent(key, ModelHolder::load).pipeline();
    }

    private static Loaded load(Key key) {
        LocalFiles copy = new LocalFiles(new Configuration());
        java.nio.file.Path file = copy.local(key.modelUri(), "--model", "--model");
        Model model = Model.load(file, Device.parse(key.device()));
        CasePipeline pipeline = CasePipeline.of(model, file)
                .reorienting(key.reorient().equals("ras") ? Reorientation.RAS : Reorientation.NONE);
        if (!pipeline.modelSha256().equals(key.sha256())) {
            model.close();
            copy.close();
            throw new IllegalStateException(key.modelUri() + ": changed while the job ran (SHA-256 "
                    + pipeline.modelSha256() + ", the driver read " + key.sha256() + ")");
        }
        return new Loaded(model, pipeline, copy);
    }

    private static void closeAll() {
        for (Loaded l : LOADED.values()) {
            l.model().close();
            l.copy().close();
        }
        LOADED.clear();
    }
}
