package org.renalmtl.weights;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Parses and checks the JSON config of a weight file. Every problem is collected, so a user sees all
 * of them at once in one {@link WeightFormatException}.
 */
public final class ConfigParser {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final List<String> problems = new ArrayList<>();

    private ConfigParser(Path file) {
        this.file = file;
    }

    /**
     * @param json the config text
     * @param file the file it came from, for messages
     * @return the checked config
     * @throws WeightFormatException listing every problem
     */
    public static ModelConfig parse(String json, Path file) {
        ConfigParser p = new ConfigParser(file);
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new WeightFormatException(file, "config is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new WeightFormatException(file, "config is not a JSON object");
        }
        ModelConfig config = p.model(root, json);
        if (!p.problems.isEmpty()) {
            throw new WeightFormatException(file, p.problems);
        }
        return config;
    }

    private ModelConfig model(JsonNode root, String json) {
        String format = root.path("format").asText("");
        if (!"renal-mtl-weights".equals(format)) {
            throw new WeightFormatException(file, "config 'format' is '" + format + "', expected 'renal-mtl-weights'");
        }
        JsonNode v = root.get("format_version");
        if (v == null || !v.canConvertToInt()) {
            throw new WeightFormatException(file, "config has no integer 'format_version'");
        }
        if (v.asInt() != ModelConfig.FORMAT_VERSION) {
            throw new WeightFormatException(file, "unsupported format_version " + v.asText()
                    + " (this engine reads version " + ModelConfig.FORMAT_VERSION + ")");
        }
        List<String> phases = strings(root, "phases");
        if (phases.isEmpty()) {
            problem("config 'phases' must list at least one phase");
        }
        if (new HashSet<>(phases).size() != phases.size()) {
            problem("config 'phases' has duplicates");
        }
        List<ModelConfig.Task> tasks = new ArrayList<>();
        for (JsonNode t : array(root, "tasks")) {
            double th = t.path("threshold").asDouble(0.5);
            if (!(th >= 0 && th <= 1)) {
                problem("task '" + t.path("name").asText() + "' threshold " + th + " outside [0, 1]");
            }
            tasks.add(new ModelConfig.Task(text(t, "name", "tasks[]"), t.path("positive").asText(""),
                    t.path("negative").asText(""), th));
        }
        if (tasks.isEmpty()) {
            problem("config 'tasks' must list at least one task");
        }
        JsonNode in = object(root, "input");
        ModelConfig.Input input = new ModelConfig.Input(positiveInts(in, "size", 3, "input"),
                positiveDoubles(in, "spacing_mm", 3, "input"), in.path("margin_mm").asDouble(0));
        JsonNode pp = object(root, "preprocessing");
        double[] window = doubles(pp, "hu_window", 2, "preprocessing");
        String norm = pp.path("normalisation").asText("");
        if (!norm.equals("zscore") && !norm.equals("window")) {
            problem("preprocessing 'normalisation' must be 'zscore' or 'window', got '" + norm + "'");
        }
        double std = pp.path("std").asDouble(1);
        if (norm.equals("zscore") && !(std > 0)) {
            problem("preprocessing 'std' must be > 0");
        }
        if (window.length == 2 && !(window[0] < window[1])) {
            problem("preprocessing 'hu_window' must be increasing");
        }
        ModelConfig.Preprocessing prep = new ModelConfig.Preprocessing(window.length == 2 ? window[0] : 0,
                window.length == 2 ? window[1] : 1, norm, pp.path("mean").asDouble(0), std);

        List<ModelConfig.Network> networks = new ArrayList<>();
        Set<String> predicted = new HashSet<>();
        for (JsonNode n : array(root, "networks")) {
            ModelConfig.Network net = network(n, phases.size());
            if (net == null) {
                continue;
            }
            for (String t : net.tasks()) {
                if (tasks.stream().noneMatch(x -> x.name().equals(t))) {
                    problem("network '" + net.name() + "' predicts unknown task '" + t + "'");
                }
                if (!predicted.add(t)) {
                    problem("task '" + t + "' is predicted by more than one network");
                }
            }
            networks.add(net);
        }
        if (networks.isEmpty()) {
            problem("config 'networks' must list at least one network");
        }
        for (ModelConfig.Task t : tasks) {
            if (!predicted.contains(t.name()) && !networks.isEmpty()) {
                problem("task '" + t.name() + "' is predicted by no network");
            }
        }
        return new ModelConfig(ModelConfig.FORMAT_VERSION, root.path("producer").asText(""),
                root.path("name").asText(""), phases, tasks, input, prep, networks, json);
    }

    private ModelConfig.Network network(JsonNode n, int phases) {
        String name = text(n, "name", "networks[]");
        String where = "network '" + name + "'";
        String prefix = n.path("prefix").asText("");
        List<String> tasks = strings(n, "tasks");
        if (tasks.isEmpty()) {
            problem(where + " predicts no task");
        }
        ModelConfig.Fusion fusion;
        try {
            fusion = ModelConfig.Fusion.valueOf(n.path("fusion").asText("").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            problem(where + " 'fusion' must be batch, channels or separate");
            return null;
        }
        ModelConfig.Backbone backbone = backbone(object(n, "backbone"), where);
        if (backbone == null) {
            return null;
        }
        int expectIn = fusion == ModelConfig.Fusion.CHANNELS ? phases : 1;
        if (backbone.inChannels() != expectIn) {
            problem(where + " backbone in_channels is " + backbone.inChannels() + " but fusion '"
                    + fusion.name().toLowerCase(Locale.ROOT) + "' with " + phases + " phases needs " + expectIn);
        }
        JsonNode h = object(n, "head");
        ModelConfig.Head head;
        switch (h.path("type").asText("")) {
            case "ple" -> {
                int levels = h.path("levels").asInt(0);
                int te = h.path("task_experts").asInt(0);
                int se = h.path("shared_experts").asInt(-1);
                if (levels < 1) {
                    problem(where + " PLE 'levels' must be ≥ 1");
                }
                if (te < 1) {
                    problem(where + " PLE 'task_experts' must be ≥ 1");
                }
                if (se < 0) {
                    problem(where + " PLE 'shared_experts' must be ≥ 0");
                }
                int[] eh = positiveInts(h, "expert_hidden", -1, where + " head");
                if (eh.length == 0) {
                    problem(where + " PLE 'expert_hidden' must list at least one width");
                }
                JsonNode g = object(h, "gate");
                ModelConfig.Gate gate = new ModelConfig.Gate(positiveIntsOptional(g, "hidden", where + " gate"),
                        g.path("bias").asBoolean(true), g.path("bn").asBoolean(false));
                head = new ModelConfig.Ple(levels, te, se, eh, h.path("expert_bn").asBoolean(false), gate,
                        mlp(object(h, "tower"), where + " tower"));
            }
            case "mlp" -> {
                if (tasks.size() != 1) {
                    problem(where + " has an 'mlp' head, which predicts exactly one task, but lists " + tasks.size());
                }
                head = new ModelConfig.MlpHead(mlp(h, where + " head"));
            }
            default -> {
                problem(where + " head 'type' must be 'ple' or 'mlp', got '" + h.path("type").asText("") + "'");
                return null;
            }
        }
        return new ModelConfig.Network(name, prefix, tasks, fusion, backbone, head);
    }

    private ModelConfig.Mlp mlp(JsonNode m, String where) {
        return new ModelConfig.Mlp(positiveIntsOptional(m, "hidden", where), m.path("bn").asBoolean(false),
                m.path("bias").asBoolean(true));
    }

    private ModelConfig.Backbone backbone(JsonNode b, String where) {
        where = where + " backbone";
        String type = b.path("type").asText("resnet3d");
        if (!type.equals("resnet3d")) {
            problem(where + " type '" + type + "' is not supported (resnet3d only)");
            return null;
        }
        int depth = b.path("depth").asInt(0);
        if (depth != 10 && depth != 18 && depth != 34 && depth != 50) {
            problem(where + " depth " + depth + " is not one of 10, 18, 34, 50");
            return null;
        }
        int[] widths = b.has("widths") ? positiveInts(b, "widths", 4, where) : new int[] {64, 128, 256, 512};
        JsonNode s = object(b, "stem");
        ModelConfig.Stem stem = new ModelConfig.Stem(positiveInts(s, "kernel", 3, where + " stem"),
                positiveInts(s, "stride", 3, where + " stem"), nonNegativeInts(s, "padding", 3, where + " stem"),
                s.path("max_pool").asBoolean(true));
        int[] strides = b.has("strides") ? positiveInts(b, "strides", 4, where) : new int[] {1, 2, 2, 2};
        int[] dilations = b.has("dilations") ? positiveInts(b, "dilations", 4, where) : new int[] {1, 1, 1, 1};
        ModelConfig.Shortcut shortcut;
        try {
            shortcut = ModelConfig.Shortcut.valueOf(b.path("shortcut").asText("B").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            problem(where + " 'shortcut' must be A or B");
            shortcut = ModelConfig.Shortcut.B;
        }
        int inCh = b.path("in_channels").asInt(1);
        if (inCh < 1) {
            problem(where + " 'in_channels' must be ≥ 1");
        }
        return new ModelConfig.Backbone(depth, b.path("flavour").asText(""), inCh, widths, stem, strides, dilations,
                shortcut, b.path("downsample_bias").asBoolean(false));
    }

    private void problem(String p) {
        problems.add(p);
    }

    private JsonNode object(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject()) {
            problem("config has no object '" + key + "'");
            return JSON.createObjectNode();
        }
        return v;
    }

    private List<JsonNode> array(JsonNode n, String key) {
        JsonNode v = n.get(key);
        List<JsonNode> out = new ArrayList<>();
        if (v == null || !v.isArray()) {
            problem("config has no array '" + key + "'");
            return out;
        }
        v.forEach(out::add);
        return out;
    }

    private String text(JsonNode n, String key, String where) {
        String s = n.path(key).asText("");
        if (s.isEmpty()) {
            problem(where + " has no '" + key + "'");
        }
        return s;
    }

    private List<String> strings(JsonNode n, String key) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : array(n, key)) {
            out.add(e.asText());
        }
        return out;
    }

    private int[] ints(JsonNode n, String key, int len, String where, int min, boolean optional) {
        JsonNode v = n.get(key);
        if (v == null && optional) {
            return new int[0];
        }
        if (v == null || !v.isArray() || (len >= 0 && v.size() != len)) {
            problem(where + " '" + key + "' must be an array of " + (len >= 0 ? len + " " : "") + "integers");
            return new int[Math.max(len, 0)];
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.canConvertToInt() || e.asInt() < min) {
                problem(where + " '" + key + "' has an invalid entry " + e);
            }
            out[i] = e.asInt();
        }
        return out;
    }

    private int[] positiveInts(JsonNode n, String key, int len, String where) {
        return ints(n, key, len, where, 1, false);
    }

    private int[] positiveIntsOptional(JsonNode n, String key, String where) {
        return ints(n, key, -1, where, 1, true);
    }

    private int[] nonNegativeInts(JsonNode n, String key, int len, String where) {
        return ints(n, key, len, where, 0, false);
    }

    private double[] doubles(JsonNode n, String key, int len, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isArray() || v.size() != len) {
            problem(where + " '" + key + "' must be an array of " + len + " numbers");
            return new double[0];
        }
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            if (!v.get(i).isNumber()) {
                problem(where + " '" + key + "' has a non-numeric entry");
            }
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    private double[] positiveDoubles(JsonNode n, String key, int len, String where) {
        double[] d = doubles(n, key, len, where);
        for (double x : d) {
            if (!(x > 0)) {
                problem(where + " '" + key + "' must be positive");
                break;
            }
        }
        return d.length == len ? d : new double[] {1, 1, 1};
    }
}
