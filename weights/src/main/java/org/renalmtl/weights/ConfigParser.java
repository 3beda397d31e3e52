package org.renalmtl.weights;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and checks the JSON config of a weight file strictly: the text is exactly one JSON object
 * without duplicate keys, every field has its JSON type (no string where a number belongs, no
 * fraction where an integer belongs), and every size and count is within {@link ConfigLimits}. Every
 * problem is collected, so a user sees all of them at once in one {@link WeightFormatException}.
 */
public final class ConfigParser {
    /** Duplicate keys and trailing text are errors: either would make the file mean two things. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** A network prefix: "" or identifier segments each followed by a dot (as the exporter checks). */
    private static final Pattern PREFIX = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*\\.)*");

    private final List<String> problems = new ArrayList<>();
    private final JsonFields f = new JsonFields(problems);
    private final int version;
    private final HeadParser heads;

    private ConfigParser(int version) {
        this.version = version;
        this.heads = new HeadParser(f, version);
    }

    /**
     * @param json the config text
     * @param file the file it came from, for messages
     * @return the checked config
     * @throws WeightFormatException listing every problem
     */
    public static ModelConfig parse(String json, Path file) {
        JsonNode root = readRoot(json, file);
        ConfigParser p = new ConfigParser(header(root, file, "renal-mtl-weights", 1, ModelConfig.FORMAT_VERSION));
        ModelConfig config = p.model(root, json);
        if (p.problems.isEmpty()) {
            // Only now is the layout small enough to enumerate (every count above is bounded).
            long params = TensorLayout.parameterCount(config);
            if (params > ConfigLimits.PARAMETERS) {
                p.problems.add("the model has " + params + " parameters (at most " + ConfigLimits.PARAMETERS + ")");
            }
        }
        if (!p.problems.isEmpty()) {
            throw new WeightFormatException(file, p.problems);
        }
        return config;
    }

    /**
     * The config text as one JSON object, for every config kind: bounded length, no duplicate keys,
     * no trailing text.
     */
    static JsonNode readRoot(String json, Path file) {
        if (json.length() > ConfigLimits.CONFIG_BYTES) {
            throw new WeightFormatException(file, "config is longer than " + ConfigLimits.CONFIG_BYTES + " characters");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new WeightFormatException(file, "config is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new WeightFormatException(file, "config is not a JSON object");
        }
        return root;
    }

    /**
     * Format name and version decide how to read the rest, so they fail fast and alone. A file of the
     * other kind (classifier weights given as a segmentation model, or the reverse) is named as such.
     *
     * @return the version, an integer from {@code minVersion} to {@code maxVersion}
     */
    static int header(JsonNode root, Path file, String expected, int minVersion, int maxVersion) {
        JsonNode format = root.get("format");
        String name = format != null && format.isTextual() ? format.asText() : format == null ? "" : JsonFields.show(format);
        if (!expected.equals(name)) {
            String kind = switch (name) {
                case "renal-mtl-weights" -> " (a classifier weight file)";
                case SegmentationConfig.FORMAT -> " (a segmentation model)";
                default -> "";
            };
            throw new WeightFormatException(file, "config 'format' is '" + name + "'" + kind + ", expected '" + expected + "'");
        }
        JsonNode v = root.get("format_version");
        if (v == null) {
            throw new WeightFormatException(file, "config has no integer 'format_version'");
        }
        String versions = minVersion == maxVersion ? Integer.toString(minVersion) : minVersion + " to " + maxVersion;
        if (!v.isNumber()) {
            throw new WeightFormatException(file, "config 'format_version' must be "
                    + (minVersion == maxVersion ? "the integer " : "an integer from ") + versions + ", got "
                    + JsonFields.show(v));
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < minVersion || v.asInt() > maxVersion) {
            throw new WeightFormatException(file, "unsupported format_version " + JsonFields.show(v)
                    + " (this engine reads version" + (minVersion == maxVersion ? " " : "s ") + versions + ")");
        }
        return v.asInt();
    }

    private ModelConfig model(JsonNode root, String json) {
        List<String> phases = new ArrayList<>();
        for (JsonNode p : f.array(root, "phases", "config", ConfigLimits.PHASES)) {
            phases.add(f.name(p, "config 'phases' entry"));
        }
        if (phases.isEmpty()) {
            f.problem("config 'phases' must list at least one phase");
        }
        if (new HashSet<>(phases).size() != phases.size()) {
            f.problem("config 'phases' has duplicates");
        }
        List<ModelConfig.Task> tasks = tasks(root);
        JsonNode in = f.object(root, "input", "config");
        ModelConfig.Input input = new ModelConfig.Input(
                f.ints(in, "size", 3, 3, "input", 1, ConfigLimits.INPUT_SIZE, false),
                f.numbers(in, "spacing_mm", 3, "input", ConfigLimits.MIN_SPACING_MM, ConfigLimits.MAX_SPACING_MM, 1),
                f.number(in, "margin_mm", "input", 0, ConfigLimits.MAX_MARGIN_MM, 0.0));
        ModelConfig.Preprocessing prep = preprocessing(f.object(root, "preprocessing", "config"));

        List<ModelConfig.Network> networks = new ArrayList<>();
        Set<String> predicted = new HashSet<>();
        Set<String> names = new HashSet<>();
        Set<String> prefixes = new HashSet<>();
        for (JsonNode n : f.array(root, "networks", "config", ConfigLimits.NETWORKS)) {
            ModelConfig.Network net = network(n, phases.size(), input.size());
            if (net == null) {
                continue;
            }
            if (!names.add(net.name())) {
                f.problem("network name '" + net.name() + "' is used twice");
            }
            if (!prefixes.add(net.prefix())) {
                f.problem("network prefix '" + net.prefix() + "' is used twice");
            }
            for (String t : net.tasks()) {
                if (tasks.stream().noneMatch(x -> x.name().equals(t))) {
                    f.problem("network '" + net.name() + "' predicts unknown task '" + t + "'");
                }
                if (!predicted.add(t)) {
                    f.problem("task '" + t + "' is predicted by more than one network");
                }
            }
            networks.add(net);
        }
        if (networks.isEmpty()) {
            f.problem("config 'networks' must list at least one network");
        }
        for (ModelConfig.Task t : tasks) {
            if (!predicted.contains(t.name()) && !networks.isEmpty()) {
                f.problem("task '" + t.name() + "' is predicted by no network");
            }
        }
        return new ModelConfig(version, f.string(root, "producer", "config", ""),
                f.string(root, "name", "config", ""), phases, tasks, input, prep, networks, json);
    }

    private List<ModelConfig.Task> tasks(JsonNode root) {
        List<ModelConfig.Task> tasks = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<JsonNode> list = f.array(root, "tasks", "config", ConfigLimits.TASKS);
        for (int i = 0; i < list.size(); i++) {
            JsonNode t = list.get(i);
            if (!t.isObject()) {
                f.problem("config 'tasks'[" + i + "] must be an object");
                continue;
            }
            String name = f.name(t.get("name"), "tasks[" + i + "] 'name'");
            if (!seen.add(name)) {
                f.problem("task name '" + name + "' is used twice");
            }
            String where = "task '" + name + "'";
            tasks.add(new ModelConfig.Task(name, f.string(t, "positive", where, ""), f.string(t, "negative", where, ""),
                    f.number(t, "threshold", where, 0, 1, 0.5)));
        }
        if (tasks.isEmpty()) {
            f.problem("config 'tasks' must list at least one task");
        }
        return tasks;
    }

    private ModelConfig.Preprocessing preprocessing(JsonNode pp) {
        String where = "preprocessing";
        double[] window = f.numbers(pp, "hu_window", 2, where, -1e5, 1e5, 0);
        String norm = f.string(pp, "normalisation", where, null);
        if (!norm.equals("zscore") && !norm.equals("window")) {
            f.problem("preprocessing 'normalisation' must be 'zscore' or 'window', got '" + norm + "'");
        }
        double mean = f.number(pp, "mean", where, -1e5, 1e5, 0.0);
        double std = f.number(pp, "std", where, -1e5, 1e5, 1.0);
        if (norm.equals("zscore") && !(std >= 1e-3)) {
            // Dividing HU by a vanishing std sends the input to ~1e38 and the network past float32 (issue 9).
            f.problem("preprocessing 'std' must be ≥ 0.001, got " + std);
        }
        if (!(window[0] < window[1])) {
            f.problem("preprocessing 'hu_window' must be increasing");
        }
        return new ModelConfig.Preprocessing(window[0], window[1], norm, mean, std);
    }

    private ModelConfig.Network network(JsonNode n, int phases, int[] size) {
        if (!n.isObject()) {
            f.problem("config 'networks' has an entry that is not an object");
            return null;
        }
        String name = f.name(n.get("name"), "networks[] 'name'");
        String where = "network '" + name + "'";
        String prefix = f.string(n, "prefix", where, "");
        if (!PREFIX.matcher(prefix).matches() || List.of(prefix.split("\\.")).stream()
                .anyMatch(s -> s.equals("backbone") || s.equals("backbones") || s.equals("head"))) {
            f.problem(where + " 'prefix' must be \"\" or identifiers each followed by '.' (not backbone, backbones,"
                    + " head), got '" + prefix + "'");
        }
        List<String> tasks = new ArrayList<>();
        for (JsonNode t : f.array(n, "tasks", where, ConfigLimits.TASKS)) {
            tasks.add(f.name(t, where + " task"));
        }
        if (tasks.isEmpty()) {
            f.problem(where + " predicts no task");
        }
        ModelConfig.Fusion fusion;
        try {
            fusion = ModelConfig.Fusion.valueOf(f.string(n, "fusion", where, "").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            f.problem(where + " 'fusion' must be batch, channels or separate");
            return null;
        }
        ModelConfig.Backbone backbone = backbone(f.object(n, "backbone", where), where, size);
        if (backbone == null) {
            return null;
        }
        int expectIn = fusion == ModelConfig.Fusion.CHANNELS ? phases : 1;
        if (backbone.inChannels() != expectIn) {
            f.problem(where + " backbone in_channels is " + backbone.inChannels() + " but fusion '"
                    + fusion.name().toLowerCase(Locale.ROOT) + "' with " + phases + " phases needs " + expectIn);
        }
        ModelConfig.Head head = heads.head(f.object(n, "head", where), where, tasks.size());
        return head == null ? null : new ModelConfig.Network(name, prefix, tasks, fusion, backbone, head);
    }

    private ModelConfig.Backbone backbone(JsonNode b, String where, int[] size) {
        where = where + " backbone";
        String type = f.string(b, "type", where, "resnet3d");
        if (!type.equals("resnet3d")) {
            f.problem(where + " type '" + type + "' is not supported (resnet3d only)");
            return null;
        }
        JsonNode d = b.get("depth");
        int depth = d != null && d.isIntegralNumber() && d.canConvertToInt() ? d.asInt() : 0;
        if (depth != 10 && depth != 18 && depth != 34 && depth != 50) {
            f.problem(where + " depth " + (d == null ? "(missing)" : JsonFields.show(d)) + " is not one of 10, 18, 34, 50");
            return null;
        }
        int[] widths = b.has("widths") ? f.ints(b, "widths", 4, 4, where, 1, ConfigLimits.WIDTH, false)
                : new int[] {64, 128, 256, 512};
        ModelConfig.Stem stem = stem(f.object(b, "stem", where), where + " stem", size);
        int[] strides = b.has("strides") ? f.ints(b, "strides", 4, 4, where, 1, ConfigLimits.STAGE_STRIDE, false)
                : new int[] {1, 2, 2, 2};
        int[] dilations = b.has("dilations") ? f.ints(b, "dilations", 4, 4, where, 1, ConfigLimits.DILATION, false)
                : new int[] {1, 1, 1, 1};
        ModelConfig.Shortcut shortcut;
        try {
            shortcut = ModelConfig.Shortcut.valueOf(f.string(b, "shortcut", where, "B").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            f.problem(where + " 'shortcut' must be A or B");
            shortcut = ModelConfig.Shortcut.B;
        }
        int inCh = f.integer(b, "in_channels", where, 1, ConfigLimits.PHASES, 1);
        return new ModelConfig.Backbone(depth, f.string(b, "flavour", where, ""), inCh, widths, stem, strides, dilations,
                shortcut, f.bool(b, "downsample_bias", where, false));
    }

    /**
     * The stem must fit the input: a stride no longer than the kernel (else input voxels are skipped)
     * nor the input, padding at most half the kernel (every ResNet stem pads kernel / 2; more only adds
     * zero borders), and a padded input at least one kernel long, so the stem's output is never empty.
     */
    private ModelConfig.Stem stem(JsonNode s, String where, int[] size) {
        int[] kernel = f.ints(s, "kernel", 3, 3, where, 1, ConfigLimits.STEM_KERNEL, false);
        int[] stride = f.ints(s, "stride", 3, 3, where, 1, ConfigLimits.STEM_KERNEL, false);
        int[] padding = f.ints(s, "padding", 3, 3, where, 0, ConfigLimits.STEM_KERNEL, false);
        for (int i = 0; i < 3; i++) {
            if (stride[i] > kernel[i] || stride[i] > size[i]) {
                f.problem(where + " stride " + stride[i] + " on axis " + i + " exceeds the kernel or the input size");
            }
            if (2 * padding[i] > kernel[i]) {
                f.problem(where + " padding " + padding[i] + " on axis " + i + " exceeds half the kernel");
            }
            if (size[i] + 2 * padding[i] < kernel[i]) {
                f.problem(where + " kernel " + kernel[i] + " on axis " + i + " is larger than the padded input");
            }
        }
        return new ModelConfig.Stem(kernel, stride, padding, f.bool(s, "max_pool", where, true));
    }
}
