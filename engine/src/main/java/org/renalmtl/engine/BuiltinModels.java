package org.renalmtl.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.WeightWriter;

/**
 * The paper-size reference models, built in without any download: R18-3P-96 as the multi-task
 * model (MTDL: ResNet-18 over three 96³ phases as a batch, PLE with 2 levels, 2 task + 2 shared
 * experts) and as three single-task models (STDL). Their configs are the same as
 * {@code weights/export}'s {@code r18_3p_96_mtdl()} and {@code r18_3p_96_stdl()}; weights are
 * seeded random (see {@link SeededWeights}): for demos and benchmarks, not for diagnosis.
 */
public final class BuiltinModels {
    /** Which built-in model. */
    public enum Kind {
        /** One network, PLE head, three tasks. */
        MTDL("r18-3p-96-mtdl.json"),
        /** Three networks, one MLP head each. */
        STDL("r18-3p-96-stdl.json");

        private final String resource;

        Kind(String resource) {
            this.resource = resource;
        }
    }

    private BuiltinModels() {}

    /** @return the config of a built-in model */
    public static ModelConfig config(Kind kind) {
        try (InputStream in = BuiltinModels.class.getResourceAsStream(kind.resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + kind.resource);
            }
            String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return ConfigParser.parse(json, Path.of("builtin:" + kind.resource));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return a model with seeded weights; closing it frees them */
    public static Model create(Kind kind, long seed, Device device) {
        ModelConfig config = config(kind);
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> tensors = SeededWeights.generate(config, seed, arena);
            return Model.of(config, tensors, arena::close, device);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Writes a built-in model with seeded weights as a weight file (format v1). */
    public static void write(Kind kind, long seed, Path out) {
        ModelConfig config = config(kind);
        try (Arena arena = Arena.ofConfined()) {
            WeightWriter.write(out, config.json(), SeededWeights.generate(config, seed, arena));
        }
    }
}
