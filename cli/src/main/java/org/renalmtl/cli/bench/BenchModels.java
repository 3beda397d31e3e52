package org.renalmtl.cli.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.renalmtl.cli.InputException;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.weights.ConfigLimits;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.WeightWriter;

/**
 * The model configs {@code bench} compares, derived from the built-in R18-3P-96 pair: the backbone depth
 * ({@code r10}, {@code r18-3p-96}, {@code r34}, {@code r50}), early fusion (the three phases as input
 * channels of one backbone) and the task count (tasks beyond the paper's three are named {@code task4}…).
 * The multi-task model is one network with a PLE head over every task; the single-task models are one
 * network per task with an MLP head, as in the paper.
 */
public final class BenchModels {
    /** The names {@code --config} accepts. */
    public static final List<String> CONFIGS = List.of("r18-3p-96", "r10", "r34", "r50", "early-fusion");

    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchModels() {}

    /** @throws InputException naming the accepted configs if {@code name} is not one */
    public static void check(String name) {
        if (!CONFIGS.contains(name)) {
            throw new InputException("--config " + name + ": not a built-in config (use one of "
                    + String.join(", ", CONFIGS) + ", or a segmentation network: " + String.join(", ", SegNetworks.CONFIGS)
                    + ")");
        }
    }

    /** @return the multi-task config: one network, PLE head over {@code tasks} tasks */
    public static ModelConfig mtdl(String name, int tasks) {
        ObjectNode root = template(BuiltinModels.Kind.MTDL);
        ObjectNode net = (ObjectNode) root.get("networks").get(0);
        adjust(root, net, name, tasks);
        ArrayNode names = net.putArray("tasks");
        taskNames(tasks).forEach(names::add);
        return parse(root);
    }

    /**
     * @param mtdl a multi-task config (one network)
     * @return its single-task counterparts as one config: per task, the same backbone and fusion with the
     *     built-in STDL's MLP head (the engine's shared-arena form)
     * @throws InputException if {@code mtdl} has more than one network
     */
    public static ModelConfig stdlFor(ModelConfig mtdl) {
        if (mtdl.networks().size() != 1) {
            throw new InputException(mtdl.name() + ": has " + mtdl.networks().size() + " networks; bench needs the"
                    + " multi-task model (one network over every task)");
        }
        ObjectNode root = tree(mtdl.json());
        JsonNode mlp = template(BuiltinModels.Kind.STDL).get("networks").get(0).get("head");
        ObjectNode first = (ObjectNode) root.get("networks").get(0);
        ArrayNode nets = root.putArray("networks");
        for (String task : mtdl.networks().getFirst().tasks()) {
            ObjectNode net = first.deepCopy();
            net.put("name", task);
            net.put("prefix", task + ".");
            net.putArray("tasks").add(task);
            net.set("head", mlp.deepCopy());
            nets.add(net);
        }
        root.put("name", mtdl.name().contains("MTDL") ? mtdl.name().replace("MTDL", "STDL") : mtdl.name() + " STDL");
        return parse(root);
    }

    /**
     * @return each network of {@code stdl} as a model of its own (same tensor names), as a user who runs
     *     the single-task models one after another holds them
     */
    public static List<ModelConfig> singles(ModelConfig stdl) {
        List<ModelConfig> out = new ArrayList<>();
        for (int i = 0; i < stdl.networks().size(); i++) {
            ObjectNode root = tree(stdl.json());
            JsonNode net = root.get("networks").get(i);
            String task = net.get("tasks").get(0).asText();
            ArrayNode tasks = root.putArray("tasks");
            for (JsonNode t : tree(stdl.json()).get("tasks")) {
                if (t.get("name").asText().equals(task)) {
                    tasks.add(t);
                }
            }
            root.putArray("networks").add(net);
            root.put("name", root.get("name").asText() + " " + task);
            out.add(parse(root));
        }
        return out;
    }

    /** Writes {@code config} with seeded weights (format v1), as a user's weight file would be. */
    public static void writeSeeded(ModelConfig config, long seed, Path out) {
        try (Arena arena = Arena.ofConfined()) {
            WeightWriter.write(out, config.json(), SeededWeights.generate(config, seed, arena));
        }
    }

    /** @return the task names: the paper's three, then {@code task4}, {@code task5}, … */
    static List<String> taskNames(int tasks) {
        if (tasks < 1 || tasks > ConfigLimits.TASKS) {
            throw new InputException("--tasks " + tasks + ": must be 1 to " + ConfigLimits.TASKS);
        }
        List<String> paper = List.of("ccrcc", "stage", "renal");
        List<String> out = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            out.add(t < paper.size() ? paper.get(t) : "task" + (t + 1));
        }
        return out;
    }

    private static void adjust(ObjectNode root, ObjectNode net, String name, int tasks) {
        check(name);
        root.put("name", name.toUpperCase(Locale.ROOT) + " MTDL" + (tasks == 3 ? "" : " " + tasks + " tasks"));
        root.put("producer", "renal-mtl bench (seeded weights)");
        ArrayNode taskList = root.putArray("tasks");
        JsonNode paper = template(BuiltinModels.Kind.MTDL).get("tasks");
        List<String> names = taskNames(tasks);
        for (int t = 0; t < tasks; t++) {
            if (t < paper.size()) {
                taskList.add(paper.get(t));
            } else {
                taskList.addObject().put("name", names.get(t)).put("positive", "positive").put("negative", "negative")
                        .put("threshold", 0.5);
            }
        }
        ObjectNode backbone = (ObjectNode) net.get("backbone");
        switch (name) {
            case "r10" -> backbone.put("depth", 10);
            case "r34" -> backbone.put("depth", 34);
            case "r50" -> backbone.put("depth", 50);
            case "early-fusion" -> {
                net.put("fusion", "channels");
                backbone.put("in_channels", root.get("phases").size());
            }
            default -> { } // r18-3p-96: the built-in model as it is
        }
    }

    private static ObjectNode template(BuiltinModels.Kind kind) {
        return tree(BuiltinModels.config(kind).json());
    }

    private static ObjectNode tree(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ModelConfig parse(ObjectNode root) {
        try {
            return ConfigParser.parse(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root),
                    Path.of("bench:" + root.get("name").asText()));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
