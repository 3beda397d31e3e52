package org.renalmtl.spark;

import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.loader.preprocess.Reorientation;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.TumourSegmentation;

/**
 * One loaded model (and segmentation model, when the job has one) per executor JVM, shared by every task (partition) that JVM runs, closed when the JVM exits.
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
     * @param modelUri    the weight file, a qualified URI
     * @param sha256      its SHA-256 as the driver read it; a file changed since is refused
     * @param segModelUri the segmentation model, a qualified URI, or empty when the manifest gives masks
     * @param segSha256   its SHA-256 as the driver read it, or empty
     * @param device      {@code cpu}, {@code cuda[:N]} or {@code auto}
     * @param reorient    {@code none} or {@code ras}
     */
    record Key(String modelUri, String sha256, String segModelUri, String segSha256, String device, String reorient)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * An executor's models.
     *
     * @param pipeline     the classifier's pipeline
     * @param segmentation the segmentation model, or null when the manifest gives masks
     */
    record Models(CasePipeline pipeline, TumourSegmentation segmentation) {
    }

    private record Loaded(Model model, Models models, LocalFiles copy) {
    }

    private static final Map<Key, Loaded> LOADED = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ModelHolder::closeAll, "renal-mtl-model-close"));
    }

    private ModelHolder() {
    }

    /**
     * @param key  the models and settings
     * @param conf the Hadoop configuration that reaches the weight files
     * @return this JVM's models for them, loading them on first use
     */
    static Models models(Key key, Configuration conf) {
        return LOADED.computeIfAbsent(key, k -> load(k, conf)).models();
    }

    private static Loaded load(Key key, Configuration conf) {
        LocalFiles copy = new LocalFiles(conf);
        Model model = null;
        TumourSegmentation seg = null;
        try {
            java.nio.file.Path file = copy.local(key.modelUri(), "--model", "--model");
            model = Model.load(file, Device.parse(key.device()));
            CasePipeline pipeline = CasePipeline.of(model, file)
                    .reorienting(key.reorient().equals("ras") ? Reorientation.RAS : Reorientation.NONE);
            unchanged(key.modelUri(), pipeline.modelSha256(), key.sha256());
            if (!key.segModelUri().isEmpty()) {
                seg = TumourSegmentation.load(copy.local(key.segModelUri(), "--seg-model", "--seg-model"),
                        Device.parse(key.device()));
                unchanged(key.segModelUri(), seg.sha256(), key.segSha256());
            }
            Loaded l = new Loaded(model, new Models(pipeline, seg), copy);
            model = null;
            seg = null;
            copy = null;
            return l;
        } finally {
            if (seg != null) {
                seg.close();
            }
            if (model != null) {
                model.close();
            }
            if (copy != null) {
                copy.close();
            }
        }
    }

    private static void unchanged(String uri, String sha256, String driverRead) {
        if (!sha256.equals(driverRead)) {
            throw new IllegalStateException(uri + ": changed while the job ran (SHA-256 " + sha256
                    + ", the driver read " + driverRead + ")");
        }
    }

    private static void closeAll() {
        for (Loaded l : LOADED.values()) {
            if (l.models().segmentation() != null) {
                l.models().segmentation().close();
            }
            l.model().close();
            l.copy().close();
        }
        LOADED.clear();
    }
}
