package org.renalmtl.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.renalmtl.weights.SegmentationConfig.Architecture;
import org.renalmtl.weights.SegmentationConfig.Channel;
import org.renalmtl.weights.SegmentationConfig.Label;
import org.renalmtl.weights.SegmentationConfig.Network;
import org.renalmtl.weights.SegmentationConfig.Normalization;
import org.renalmtl.weights.SegmentationConfig.ResamplingKwargs;

/**
 * Parses and checks a segmentation config (FORMAT.md, "Segmentation models (nnU-Net v2)") as strictly
 * as {@link ConfigParser} does a classifier's: one JSON object, no duplicate keys, every field of its
 * JSON type, every size and count within {@link SegmentationLimits}, and the cross-field rules (channels
 * per input channel, labels against {@code num_classes}, patch a multiple of the strides). Every problem
 * is collected into one {@link WeightFormatException}.
 */
public final class SegmentationConfigParser {
    private static final double MIN_SPACING_MM = ConfigLimits.MIN_SPACING_MM;
    private static final double MAX_SPACING_MM = ConfigLimits.MAX_SPACING_MM;

    private final List<String> problems = new ArrayList<>();
    private final JsonFields f = new JsonFields(problems);

    private SegmentationConfigParser() {}

    /**
     * @param json the config text
     * @param file the file it came from, for messages
     * @return the checked config
     * @throws WeightFormatException listing every problem
     */
    public static SegmentationConfig parse(String json, Path file) {
        JsonNode root = ConfigParser.readRoot(json, file);
        ConfigParser.header(root, file, SegmentationConfig.FORMAT, SegmentationConfig.FORMAT_VERSION,
                SegmentationConfig.FORMAT_VERSION);
        SegmentationConfigParser p = new SegmentationConfigParser();
        SegmentationConfig config = p.config(root, json);
        if (p.problems.isEmpty()) {
            long params = SegmentationLayout.parameterCount(config);
            if (params > ConfigLimits.PARAMETERS) {
                p.problems.add("the network has " + params + " parameters (at most " + ConfigLimits.PARAMETERS + ")");
            }
        }
        if (!p.problems.isEmpty()) {
            throw new WeightFormatException(file, p.problems);
        }
        return config;
    }

    private SegmentationConfig config(JsonNode root, String json) {
        String producer = f.string(root, "producer", "config", "");
        String name = text(root.get("name"), "config 'name'");
        SegmentationConfig.Source source = source(f.object(root, "source", "config"));
        Network net = network(f.object(root, "network", "config"));
        int[] patch = f.ints(root, "patch_size", 3, 3, "config", 1, SegmentationLimits.PATCH, false);
        int[] total = net.totalStride();
        for (int a = 0; a < 3; a++) {
            if (patch[a] % total[a] != 0) {
                f.problem("config 'patch_size' " + Arrays.toString(patch) + " is not a multiple of the strides' product "
                        + Arrays.toString(total) + " on axis " + a);
                break;
            }
        }
        double[] spacing = f.numbers(root, "spacing", 3, "config", MIN_SPACING_MM, MAX_SPACING_MM, 1);
        int[] forward = permutation(root, "transpose_forward");
        int[] backward = permutation(root, "transpose_backward");
        for (int a = 0; a < 3; a++) {
            if (backward[forward[a]] != a) {
                f.problem("config 'transpose_backward' " + Arrays.toString(backward) + " is not the inverse of 'transpose_forward' "
                        + Arrays.toString(forward));
                break;
            }
        }
        List<Channel> channels = new ArrayList<>();
        for (JsonNode c : f.array(root, "channels", "config", SegmentationLimits.CHANNELS)) {
            channels.add(channel(c, "config 'channels' entry " + channels.size()));
        }
        if (channels.size() != net.inputChannels()) {
            f.problem("config 'channels' has " + channels.size() + " entries, the network has " + net.inputChannels()
                    + " input channel(s)");
        }
        JsonNode res = f.object(root, "resampling", "config");
        SegmentationConfig.Resampling resampling = new SegmentationConfig.Resampling(
                resampling(f.object(res, "data", "resampling"), "resampling 'data'"),
                resampling(f.object(res, "probabilities", "resampling"), "resampling 'probabilities'"));
        List<Label> labels = labels(root);
        int[] order = regionsClassOrder(root, labels, net.numClasses());
        int[] mirroring = f.ints(root, "mirroring_axes", -1, 3, "config", 0, 2, false);
        if (Arrays.stream(mirroring).distinct().count() != mirroring.length) {
            f.problem("config 'mirroring_axes' " + Arrays.toString(mirroring) + " has duplicates");
        }
        SegmentationConfig.RenalMtl renal = renalMtl(root, labels, net.inputChannels());
        return new SegmentationConfig(producer, name, source, net, patch, spacing, forward, backward, List.copyOf(channels),
                resampling, List.copyOf(labels), order, mirroring, renal, json);
    }

    private SegmentationConfig.Source source(JsonNode s) {
        String where = "source";
        JsonNode fold = s.get("fold");
        String foldText = "all";
        if (fold != null && fold.isIntegralNumber() && fold.canConvertToInt() && fold.asInt() >= 0) {
            foldText = Integer.toString(fold.asInt());
        } else if (fold == null || !"all".equals(fold.asText()) || !fold.isTextual()) {
            f.problem("source 'fold' must be a non-negative integer or \"all\"" + (fold == null ? "" : ", got " + JsonFields.show(fold)));
        }
        return new SegmentationConfig.Source(text(s.get("dataset"), where + " 'dataset'"),
                text(s.get("trainer"), where + " 'trainer'"), text(s.get("plans"), where + " 'plans'"),
                text(s.get("configuration"), where + " 'configuration'"), foldText,
                text(s.get("checkpoint"), where + " 'checkpoint'"));
    }

    /**
     * Free text from nnU-Net (model name, dataset, trainer, plans): 1 to {@link SegmentationLimits#TEXT}
     * printable characters (nnU-Net's own names run past the 64 of a phase or task name).
     */
    private String text(JsonNode v, String what) {
        if (v == null || !v.isTextual()) {
            f.problem(what + " must be a string" + (v == null ? "" : ", got " + JsonFields.show(v)));
            return "";
        }
        String s = v.asText();
        if (s.isEmpty() || s.length() > SegmentationLimits.TEXT || s.codePoints().anyMatch(Character::isISOControl)) {
            f.problem(what + " must be 1 to " + SegmentationLimits.TEXT + " printable characters, got " + JsonFields.show(v));
        }
        return s;
    }

    private Network network(JsonNode n) {
        String cls = f.string(n, "class", "network", "");
        Architecture arch = null;
        for (Architecture a : Architecture.values()) {
            if (a.className().equals(cls)) {
                arch = a;
            }
        }
        if (arch == null && n.has("class")) {
            f.problem("network 'class' '" + cls + "' is not supported (PlainConvUNet or ResidualEncoderUNet)");
        }
        int in = f.integer(n, "input_channels", "network", 1, SegmentationLimits.CHANNELS, null);
        int classes = f.integer(n, "num_classes", "network", 1, SegmentationLimits.CLASSES, null);
        int[] features = f.ints(n, "features_per_stage", -1, SegmentationLimits.MAX_STAGES, "network", 1,
                SegmentationLimits.FEATURES, false);
        int stages = features.length;
        if (stages < SegmentationLimits.MIN_STAGES && n.has("features_per_stage")) {
            f.problem("network 'features_per_stage' has " + stages + " stage(s), at least " + SegmentationLimits.MIN_STAGES);
        }
        int[][] kernels = perStage(n, "kernel_sizes", stages, 1, SegmentationLimits.KERNEL);
        for (int s = 0; s < kernels.length; s++) {
            for (int k : kernels[s]) {
                if (k % 2 == 0) {
                    f.problem("network 'kernel_sizes'[" + s + "] " + Arrays.toString(kernels[s])
                            + " has an even size (nnU-Net pads (k - 1) / 2: only odd kernels keep the shape)");
                    break;
                }
            }
        }
        int[][] strides = perStage(n, "strides", stages, 1, SegmentationLimits.STRIDE);
        int[] convs = f.ints(n, "n_conv_per_stage", stages, stages, "network", 1, SegmentationLimits.CONVS_PER_STAGE, false);
        int[] decoder = f.ints(n, "n_conv_per_stage_decoder", Math.max(stages - 1, 0), stages, "network", 1,
                SegmentationLimits.CONVS_PER_STAGE, false);
        boolean bias = requiredBool(n, "conv_bias", "network");
        JsonNode norm = f.object(n, "norm", "network");
        String normType = f.string(norm, "type", "network 'norm'", "");
        if (norm.has("type") && !"InstanceNorm3d".equals(normType)) {
            f.problem("network 'norm' type '" + normType + "' is not supported (InstanceNorm3d)");
        }
        double eps = f.number(norm, "eps", "network 'norm'", 1e-12, 1, null);
        boolean affine = requiredBool(norm, "affine", "network 'norm'");
        JsonNode nonlin = f.object(n, "nonlin", "network");
        String nonlinType = f.string(nonlin, "type", "network 'nonlin'", "");
        if (nonlin.has("type") && !"LeakyReLU".equals(nonlinType)) {
            f.problem("network 'nonlin' type '" + nonlinType + "' is not supported (LeakyReLU)");
        }
        double slope = f.number(nonlin, "negative_slope", "network 'nonlin'", 0, 1, null);
        return new Network(arch == null ? Architecture.PLAIN_CONV_UNET : arch, in, classes, features, kernels, strides,
                convs, decoder, bias, eps, affine, slope);
    }

    /** {@code stages} arrays of three integers in [min, max]. */
    private int[][] perStage(JsonNode n, String key, int stages, int min, int max) {
        List<JsonNode> entries = f.array(n, key, "network", SegmentationLimits.MAX_STAGES);
        int[][] out = new int[stages][];
        if (entries.size() != stages && n.has(key)) {
            f.problem("network '" + key + "' has " + entries.size() + " entries, 'features_per_stage' " + stages);
        }
        for (int s = 0; s < stages; s++) {
            out[s] = s < entries.size()
                    ? f.intsValue(entries.get(s), "network '" + key + "'[" + s + "]", 3, 3, min, max)
                    : new int[] {min, min, min};
        }
        return out;
    }

    private boolean requiredBool(JsonNode n, String key, String where) {
        if (!n.has(key)) {
            f.problem(where + " has no boolean '" + key + "'");
        }
        return f.bool(n, key, where, false);
    }

    private int[] permutation(JsonNode root, String key) {
        int[] p = f.ints(root, key, 3, 3, "config", 0, 2, false);
        if (Arrays.stream(p).distinct().count() != 3) {
            f.problem("config '" + key + "' " + Arrays.toString(p) + " is not a permutation of 0, 1, 2");
            return new int[] {0, 1, 2};
        }
        return p;
    }

    private Channel channel(JsonNode c, String where) {
        if (!c.isObject()) {
            f.problem(where + " is not an object");
            return new Channel("", Normalization.NONE, false, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        String name = f.name(c.get("name"), where + " 'name'");
        String scheme = f.string(c, "normalization", where, "");
        Normalization norm = null;
        for (Normalization n : Normalization.values()) {
            if (n.schemeName().equals(scheme)) {
                norm = n;
            }
        }
        if (norm == null && c.has("normalization")) {
            f.problem(where + " normalization '" + scheme
                    + "' is not supported (CTNormalization, ZScoreNormalization or NoNormalization)");
        }
        boolean mask = requiredBool(c, "use_mask_for_norm", where);
        // The statistics are required where the scheme uses them (CT) and checked wherever present.
        Double absent = norm == Normalization.CT ? null : Double.NaN;
        double lim = SegmentationLimits.INTENSITY;
        double mean = f.number(c, "mean", where, -lim, lim, absent);
        double std = f.number(c, "std", where, 0, lim, absent);
        double lo = f.number(c, "percentile_00_5", where, -lim, lim, absent);
        double hi = f.number(c, "percentile_99_5", where, -lim, lim, absent);
        if (lo > hi) {
            f.problem(where + " 'percentile_00_5' " + lo + " is above 'percentile_99_5' " + hi);
        }
        return new Channel(name, norm == null ? Normalization.NONE : norm, mask, mean, std, lo, hi);
    }

    private ResamplingKwargs resampling(JsonNode r, String where) {
        int order = f.integer(r, "order", where, 0, SegmentationLimits.ORDER, null);
        int orderZ = f.integer(r, "order_z", where, 0, SegmentationLimits.ORDER, null);
        Boolean force = null;
        JsonNode v = r.get("force_separate_z");
        if (v == null) {
            f.problem(where + " has no 'force_separate_z' (true, false or null)");
        } else if (v.isBoolean()) {
            force = v.asBoolean();
        } else if (!v.isNull()) {
            f.problem(where + " 'force_separate_z' must be true, false or null, got " + JsonFields.show(v));
        }
        double threshold = f.number(r, "separate_z_anisotropy_threshold", where, 1, 1e3, null);
        return new ResamplingKwargs(order, orderZ, force, threshold);
    }

    private List<Label> labels(JsonNode root) {
        JsonNode labels = f.object(root, "labels", "config");
        List<Label> out = new ArrayList<>();
        if (labels.size() > SegmentationLimits.LABELS) {
            f.problem("config 'labels' has " + labels.size() + " entries (at most " + SegmentationLimits.LABELS + ")");
            return out;
        }
        for (var e : labels.properties()) {
            String what = "config 'labels' '" + e.getKey() + "'";
            f.name(TextNode.valueOf(e.getKey()), "config 'labels' name");
            JsonNode v = e.getValue();
            if (v.isArray()) {
                int[] values = f.intsValue(v, what, -1, SegmentationLimits.LABEL_VALUE, 0, SegmentationLimits.LABEL_VALUE);
                if (values.length == 0) {
                    f.problem(what + " is an empty region");
                }
                out.add(new Label(e.getKey(), values, true));
            } else {
                out.add(new Label(e.getKey(), new int[] {f.integerValue(v, what, 0, SegmentationLimits.LABEL_VALUE)}, false));
            }
        }
        return out;
    }

    /**
     * nnU-Net's rule: a model is region-based iff some label is a list of more than one value. Then
     * {@code background} is 0, every other label (but {@code ignore}) is one output channel, and
     * {@code regions_class_order} has one entry per channel; otherwise the labels but {@code ignore}
     * are exactly 0 … num_classes − 1 and there is no {@code regions_class_order}.
     */
    private int[] regionsClassOrder(JsonNode root, List<Label> labels, int classes) {
        boolean regions = labels.stream().anyMatch(l -> l.region() && l.values().length > 1);
        List<Label> counted = labels.stream().filter(l -> !l.name().equals("ignore")).toList();
        JsonNode v = root.get("regions_class_order");
        boolean given = v != null && !v.isNull();
        if (labels.stream().noneMatch(l -> l.name().equals("background") && !l.region() && l.values()[0] == 0)) {
            f.problem("config 'labels' has no 'background': 0");
        }
        if (!regions) {
            if (given) {
                f.problem("config 'regions_class_order' is given but no label is a region");
            }
            Set<Integer> values = new TreeSet<>();
            for (Label l : counted) {
                if (!values.add(l.values()[0])) {
                    f.problem("config 'labels' value " + l.values()[0] + " is used twice");
                }
            }
            Set<Integer> expected = new TreeSet<>();
            for (int i = 0; i < classes; i++) {
                expected.add(i);
            }
            if (!values.equals(expected) && values.size() == counted.size()) {
                f.problem("config 'labels' values " + values + " must be 0 … num_classes - 1 = " + (classes - 1));
            }
            return null;
        }
        long foreground = counted.stream().filter(l -> !l.name().equals("background")).count();
        if (foreground != classes) {
            f.problem("config 'labels' has " + foreground + " region(s), the network " + classes + " output channel(s)");
        }
        if (!given) {
            f.problem("config 'regions_class_order' is missing (labels are regions)");
            return new int[classes];
        }
        return f.ints(root, "regions_class_order", classes, classes, "config", 1, SegmentationLimits.LABEL_VALUE, false);
    }

    private SegmentationConfig.RenalMtl renalMtl(JsonNode root, List<Label> labels, int inputChannels) {
        JsonNode r = root.get("renal_mtl");
        if (r != null && !r.isObject()) {
            f.problem("config 'renal_mtl' must be an object, got " + JsonFields.show(r));
            r = null;
        }
        Set<String> names = new HashSet<>();
        labels.forEach(l -> names.add(l.name()));
        String tumour;
        if (r != null && r.has("tumour_label")) {
            tumour = f.string(r, "tumour_label", "renal_mtl", null);
            if (!names.contains(tumour)) {
                f.problem("renal_mtl 'tumour_label' '" + tumour + "' is not a label");
            }
        } else {
            tumour = names.contains("tumor") ? "tumor" : "tumour";
            if (!names.contains(tumour)) {
                f.problem("config 'labels' has no 'tumor' or 'tumour' and renal_mtl names no 'tumour_label'");
            }
        }
        String kidney = names.contains("kidney") ? "kidney" : null;
        if (r != null && r.has("kidney_label")) {
            kidney = f.string(r, "kidney_label", "renal_mtl", null);
            if (!names.contains(kidney)) {
                f.problem("renal_mtl 'kidney_label' '" + kidney + "' is not a label");
            }
        }
        List<String> phases = new ArrayList<>();
        if (r != null && r.has("phases")) {
            for (JsonNode p : f.array(r, "phases", "renal_mtl", ConfigLimits.PHASES)) {
                phases.add(f.name(p, "renal_mtl 'phases' entry"));
            }
            if (phases.size() != inputChannels) {
                f.problem("renal_mtl 'phases' has " + phases.size() + " entries, the network " + inputChannels
                        + " input channel(s)");
            }
        }
        return new SegmentationConfig.RenalMtl(tumour, kidney, List.copyOf(phases));
    }
}
