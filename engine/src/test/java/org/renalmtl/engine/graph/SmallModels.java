package org.renalmtl.engine.graph;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;

/**
 * Small configs, one per ResNet and head variant the graphs must build (widths 4/8/8/8, 16³ phases), so
 * that seeded weights exercise every branch of the builders in milliseconds.
 */
final class SmallModels {
    private SmallModels() {}

    private static final List<String> TASKS = List.of("ccrcc", "stage", "renal");
    private static final String STEM = "{\"kernel\": [3, 3, 3], \"stride\": [2, 2, 2], \"padding\": [1, 1, 1]}";
    private static final String PLE2 = ple(2, 2, 1, "[8]", "\"expert_bn\": false", "{\"hidden\": [], \"bias\": true}",
            "{\"hidden\": [4], \"bn\": false, \"bias\": true}");

    /** @return the variants by name, in a stable order */
    static Map<String, ModelConfig> all() {
        Map<String, ModelConfig> out = new LinkedHashMap<>();
        out.put("r10_b_batch", model(net("", TASKS, "batch", backbone(10, 1, "B", STEM, ""), PLE2)));
        out.put("r18_a_channels", model(net("", TASKS, "channels", backbone(18, 3, "A", STEM, ""),
                ple(1, 1, 2, "[8, 6]", "\"expert_bn\": false", "{\"hidden\": [], \"bias\": false}",
                        "{\"hidden\": [], \"bias\": true}"))));
        out.put("r34_b_separate", model(net("", TASKS, "separate", backbone(34, 1, "B", STEM, ""), PLE2)));
        out.put("r50_b_batch", model(net("", TASKS, "batch", backbone(50, 1, "B", STEM, ""), PLE2)));
        out.put("r50_a_batch", model(net("", TASKS, "batch", backbone(50, 1, "A", STEM, ""), PLE2)));
        out.put("medicalnet_dilated", model(net("", TASKS, "batch", backbone(18, 1, "A", STEM,
                "\"strides\": [1, 2, 1, 1], \"dilations\": [1, 1, 2, 4],"),
                PLE2)));
        out.put("hara_stem_1_2_2", model(net("", TASKS, "batch", backbone(10, 1, "B",
                "{\"kernel\": [7, 7, 7], \"stride\": [1, 2, 2], \"padding\": [3, 3, 3]}", ""), PLE2)));
        out.put("monai_bias_no_pool", model(net("", TASKS, "batch", backbone(18, 1, "B",
                "{\"kernel\": [7, 7, 7], \"stride\": [1, 1, 1], \"padding\": [3, 3, 3], \"max_pool\": false}",
                "\"downsample_bias\": true,"), PLE2)));
        out.put("ple3_every_batchnorm", model(net("", TASKS, "batch", backbone(10, 1, "B", STEM, ""),
                ple(3, 1, 2, "[8, 6]", "\"expert_bn\": true", "{\"hidden\": [5], \"bias\": false, \"bn\": true}",
                        "{\"hidden\": [6, 4], \"bn\": true, \"bias\": false}"))));
        out.put("stdl_mlp_heads", model(
                net("ccrcc.", List.of("ccrcc"), "batch", backbone(10, 1, "B", STEM, ""), mlp("[8]", true, true)),
                net("stage.", List.of("stage"), "channels", backbone(10, 3, "A", STEM, ""), mlp("[8, 4]", false, false)),
                net("renal.", List.of("renal"), "separate", backbone(18, 1, "B", STEM, ""), mlp("[]", false, true))));
        out.put("one_phase_one_task", model(List.of("venous"), List.of("ccrcc"),
                net("", List.of("ccrcc"), "separate", backbone(10, 1, "B", STEM, ""), PLE2)));
        return out;
    }

    /** R10 whose 7³ stem has no padding: a 16³ config, but any input under 7 voxels is too small for it. */
    static ModelConfig unpaddedStem() {
        return model(net("", TASKS, "batch", backbone(10, 1, "B",
                "{\"kernel\": [7, 7, 7], \"stride\": [2, 2, 2], \"padding\": [0, 0, 0]}", ""), PLE2));
    }

    private static ModelConfig model(String... networks) {
        return model(List.of("arterial", "venous", "delayed"), TASKS, networks);
    }

    private static ModelConfig model(List<String> phases, List<String> tasks, String... networks) {
        String json = """
                {"format": "renal-mtl-weights", "format_version": 1, "producer": "SmallModels", "name": "small",
                 "phases": %s, "tasks": [%s],
                 "input": {"size": [16, 16, 16], "spacing_mm": [1.0, 1.0, 1.0], "margin_mm": 10.0},
                 "preprocessing": {"hu_window": [-200.0, 300.0], "normalisation": "zscore", "mean": 60.0, "std": 80.0},
                 "networks": [%s]}
                """.formatted(strings(phases), tasks.stream().map(t -> "{\"name\": \"" + t
                + "\", \"positive\": \"p\", \"negative\": \"n\", \"threshold\": 0.5}").collect(Collectors.joining(", ")),
                String.join(", ", networks));
        return ConfigParser.parse(json, Path.of("small.json"));
    }

    private static String net(String prefix, List<String> tasks, String fusion, String backbone, String head) {
        String name = prefix.isEmpty() ? "mtdl" : prefix.substring(0, prefix.length() - 1);
        return "{\"name\": \"%s\", \"prefix\": \"%s\", \"tasks\": %s, \"fusion\": \"%s\", \"backbone\": %s, \"head\": %s}"
                .formatted(name, prefix, strings(tasks), fusion, backbone, head);
    }

    /** @param more further backbone fields, each followed by a comma */
    private static String backbone(int depth, int inChannels, String shortcut, String stem, String more) {
        return ("{\"type\": \"resnet3d\", \"depth\": %d, \"in_channels\": %d, \"widths\": [4, 8, 8, 8], %s"
                + " \"shortcut\": \"%s\", \"stem\": %s}").formatted(depth, inChannels, more, shortcut, stem);
    }

    private static String ple(int levels, int taskExperts, int sharedExperts, String hidden, String expertBn, String gate,
            String tower) {
        return ("{\"type\": \"ple\", \"levels\": %d, \"task_experts\": %d, \"shared_experts\": %d, \"expert_hidden\": %s,"
                + " %s, \"gate\": %s, \"tower\": %s}").formatted(levels, taskExperts, sharedExperts, hidden, expertBn,
                gate, tower);
    }

    private static String mlp(String hidden, boolean bn, boolean bias) {
        return "{\"type\": \"mlp\", \"hidden\": %s, \"bn\": %b, \"bias\": %b}".formatted(hidden, bn, bias);
    }

    private static String strings(List<String> names) {
        return names.stream().map(n -> "\"" + n + "\"").collect(Collectors.joining(", ", "[", "]"));
    }
}
