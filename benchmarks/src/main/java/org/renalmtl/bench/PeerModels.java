package org.renalmtl.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The renal-mtl HDF5 model and its TorchScript and ONNX copies, as {@code export_peers.py} leaves
 * them in one directory with {@code peers.json}. Checks that the copies were exported from this very
 * file (same path, not older than the file) and are whole-model copies with an input
 * {@code (B, P, D, H, W)} and output {@code (B, T)}. Optionally also a backbone-only TorchScript copy
 * in {@code backbone/} ({@code export_peers.py --backbone-only}), for the launcher's feature check.
 *
 * @param weights the renal-mtl HDF5 file
 * @param torchScript {@code model.pt}
 * @param onnx {@code model.onnx}
 * @param inputName the ONNX graph's input name
 * @param inputShape {@code (B, P, D, H, W)} the peers were exported for
 * @param tasks T, the number of probabilities per case
 * @param backbone the backbone-only TorchScript copy in {@code backbone/} for the feature check,
 *     or null where it was not exported
 */
public record PeerModels(Path weights, Path torchScript, Path onnx, String inputName, long[] inputShape, int tasks,
        Backbone backbone) {

    /** Name of the description file {@code export_peers.py} writes. */
    public static final String DESCRIPTION = "peers.json";

    /** Subdirectory of the peers directory holding {@code export_peers.py --backbone-only} output. */
    public static final String BACKBONE_DIR = "backbone";

    /**
     * The first network's backbone as {@code export_peers.py --backbone-only} exports it, with
     * fusion {@code batch} or {@code channels}: its output, flattened, is exactly the fused feature
     * vector the engine feeds the head, {@code (B, P·F)} or {@code (B, F)}.
     *
     * @param torchScript its {@code model.pt}
     * @param inputShape {@code (B·P, 1, D, H, W)} or {@code (B, P, D, H, W)}: the same floats as the model input
     * @param features number of floats it returns
     */
    public record Backbone(Path torchScript, long[] inputShape, long features) {
        /** Copies the shape. */
        public Backbone {
            inputShape = inputShape.clone();
        }

        @Override
        public long[] inputShape() {
            return inputShape.clone();
        }
    }

    /** Copies the shape so the record stays immutable. */
    public PeerModels {
        inputShape = inputShape.clone();
    }

    /** @return the backbone-only copy, if exported */
    public Optional<Backbone> featurePeer() {
        return Optional.ofNullable(backbone);
    }

    @Override
    public long[] inputShape() {
        return inputShape.clone();
    }

    /** @return B, the cases per forward */
    public int cases() {
        return Math.toIntExact(inputShape[0]);
    }

    /** @return number of floats of one input, B·P·D·H·W */
    public long inputElements() {
        return product(inputShape);
    }

    /**
     * Reads {@code peersDir/peers.json} and checks it against {@code weights}.
     *
     * @param weights the renal-mtl HDF5 file
     * @param peersDir the directory {@code export_peers.py --out} wrote
     * @throws BenchmarkSetupException naming the file and the problem
     */
    public static PeerModels open(Path weights, Path peersDir) {
        Path model = requireFile(weights, "the renal-mtl model");
        Path description = peersDir.resolve(DESCRIPTION);
        JsonNode json = describe(model, description, "the peers' description (run weights/export/export_peers.py)");
        if (!"whole model".equals(json.path("what").asText())) {
            throw new BenchmarkSetupException(description + ": the peers are '" + json.path("what").asText()
                    + "', the benchmark needs whole-model copies (export_peers.py without --backbone-only)");
        }
        long[] in = shape(json, "input_shape", 5, description);
        long[] out = shape(json, "output_shape", 2, description);
        if (out[0] != in[0]) {
            throw new BenchmarkSetupException(description + ": output_shape batch " + out[0]
                    + " differs from input_shape batch " + in[0]);
        }
        Path ts = requireFile(peersDir.resolve(text(json, "torchscript", description)), "the TorchScript copy");
        Path onnx = requireFile(peersDir.resolve(text(json, "onnx", description)),
                "the ONNX copy (export_peers.py without --no-onnx)");
        Backbone backbone = null;
        Path backboneDir = peersDir.resolve(BACKBONE_DIR);
        Path backboneDescription = backboneDir.resolve(DESCRIPTION);
        if (Files.exists(backboneDescription)) {
            JsonNode b = describe(model, backboneDescription, "the backbone copy's description");
            Matcher fusion = Pattern.compile("^backbone of network '[^']*' \\(fusion (batch|channels)\\)$")
                    .matcher(b.path("what").asText());
            if (!fusion.matches()) {
                throw new BenchmarkSetupException(backboneDescription + ": '" + b.path("what").asText()
                        + "' is not the backbone of a batch- or channels-fused network");
            }
            long[] bin = shape(b, "input_shape", 5, backboneDescription);
            long[] bout = shape(b, "output_shape", 2, backboneDescription);
            if (product(bin) != product(in) || bout[0] * bin[1] != in[0] * in[1]) {
                throw new BenchmarkSetupException(backboneDescription + ": input_shape " + Arrays.toString(bin)
                        + " does not match the model input " + Arrays.toString(in));
            }
            backbone = new Backbone(requireFile(backboneDir.resolve(text(b, "torchscript", backboneDescription)),
                    "the backbone's TorchScript copy"), bin, product(bout));
        }
        return new PeerModels(model, ts, onnx, text(json, "input_name", description), in, Math.toIntExact(out[1]),
                backbone);
    }

    /** Reads a peers.json and checks that it was exported from {@code model} and is not older. */
    private static JsonNode describe(Path model, Path file, String what) {
        Path description = requireFile(file, what);
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(description.toFile());
        } catch (IOException e) {
            throw new BenchmarkSetupException(description + ": not readable JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        String source = text(json, "source", description);
        try {
            if (!Files.isSameFile(Path.of(source), model)) {
                throw new BenchmarkSetupException(description + ": the peers were exported from " + source
                        + ", not from " + model + " (re-run export_peers.py)");
            }
            if (Files.getLastModifiedTime(model).compareTo(Files.getLastModifiedTime(description)) > 0) {
                throw new BenchmarkSetupException(description + ": older than " + model
                        + "; the peers may be stale (re-run export_peers.py)");
            }
        } catch (IOException e) {
            throw new BenchmarkSetupException(description + ": source " + source + " not readable: " + e.getMessage());
        }
        return json;
    }

    private static long product(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static Path requireFile(Path file, String what) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new BenchmarkSetupException(file + ": " + what + " is missing or unreadable");
        }
        return file.toAbsolutePath().normalize();
    }

    private static String text(JsonNode json, String field, Path description) {
        JsonNode v = json.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new BenchmarkSetupException(description + ": field '" + field + "' missing or not a string");
        }
        return v.asText();
    }

    private static long[] shape(JsonNode json, String field, int rank, Path description) {
        JsonNode v = json.get(field);
        if (v == null || !v.isArray() || v.size() != rank) {
            throw new BenchmarkSetupException(description + ": field '" + field + "' must be a list of " + rank
                    + " sizes");
        }
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) {
            if (!v.get(i).canConvertToInt() || v.get(i).asInt() < 1) {
                throw new BenchmarkSetupException(description + ": field '" + field + "' entry " + i
                        + " is not a positive integer");
            }
            s[i] = v.get(i).asInt();
        }
        return s;
    }
}
