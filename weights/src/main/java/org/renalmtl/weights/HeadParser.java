package org.renalmtl.weights;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;

/**
 * Reads a network's head (FORMAT.md, "Heads") for {@link ConfigParser}, recording problems in the same
 * {@link JsonFields}. The version-2 fields (a head's {@code activation} and {@code negative_slope}, per-level
 * {@code expert_hidden}, a gate's {@code hidden_bn}) are refused by name in a version-1 file: a version-1
 * reader ignores unknown keys, so such a file would mean one model to this reader and another to an older one.
 */
final class HeadParser {
    private final JsonFields f;
    private final int version;

    HeadParser(JsonFields f, int version) {
        this.f = f;
        this.version = version;
    }

    /** @return the head, or null after recording why there is none */
    ModelConfig.Head head(JsonNode h, String where, int tasks) {
        String type = f.string(h, "type", where + " head", "");
        switch (type) {
            case "ple" -> {
                String w = where + " PLE";
                int levels = f.integer(h, "levels", w, 1, ConfigLimits.LEVELS, null);
                int te = f.integer(h, "task_experts", w, 1, ConfigLimits.EXPERTS, null);
                int se = f.integer(h, "shared_experts", w, 0, ConfigLimits.EXPERTS, null);
                int[][] eh = expertHidden(h, w, levels);
                JsonNode g = f.object(h, "gate", w);
                boolean hiddenBn = f.bool(g, "hidden_bn", w + " gate", false);
                if (g.has("hidden_bn")) {
                    needsVersion2(w + " gate 'hidden_bn'");
                }
                ModelConfig.Gate gate = new ModelConfig.Gate(hidden(g, where + " gate"), f.bool(g, "bias", w + " gate", true),
                        f.bool(g, "bn", w + " gate", false), hiddenBn);
                return new ModelConfig.Ple(levels, te, se, eh, f.bool(h, "expert_bn", w, false), gate,
                        mlp(f.object(h, "tower", w), where + " tower"), activation(h, w));
            }
            case "mlp" -> {
                if (tasks != 1) {
                    f.problem(where + " has an 'mlp' head, which predicts exactly one task, but lists " + tasks);
                }
                return new ModelConfig.MlpHead(mlp(h, where + " head"), activation(h, where + " MLP"));
            }
            default -> {
                f.problem(where + " head 'type' must be 'ple' or 'mlp', got '" + type + "'");
                return null;
            }
        }
    }

    /**
     * {@code expert_hidden}: one list of widths for every level, or (version 2) one list per level. Always
     * returns {@code levels} non-empty lists, placeholders after a problem, so later checks can go on.
     */
    private int[][] expertHidden(JsonNode h, String w, int levels) {
        JsonNode eh = h.get("expert_hidden");
        int[][] out = new int[levels][];
        if (eh != null && eh.isArray() && !eh.isEmpty() && eh.get(0).isArray()) {
            needsVersion2(w + " per-level 'expert_hidden'");
            if (eh.size() != levels) {
                f.problem(w + " 'expert_hidden' has " + eh.size() + " lists of widths for " + levels + " level(s)");
            }
            for (int j = 0; j < levels; j++) {
                out[j] = j < eh.size() ? nonEmpty(f.intsValue(eh.get(j), w + " 'expert_hidden'[" + j + "]", -1,
                        ConfigLimits.HIDDEN_LAYERS, 1, ConfigLimits.WIDTH), w + " 'expert_hidden'[" + j + "]") : new int[] {1};
            }
            return out;
        }
        int[] widths = nonEmpty(f.ints(h, "expert_hidden", -1, ConfigLimits.HIDDEN_LAYERS, w, 1, ConfigLimits.WIDTH,
                false), w + " 'expert_hidden'");
        Arrays.fill(out, widths);
        return out;
    }

    private int[] nonEmpty(int[] widths, String what) {
        if (widths.length > 0) {
            return widths;
        }
        f.problem(what + " must list at least one width");
        return new int[] {1};
    }

    /** {@code activation} (default relu) and, for leaky_relu, {@code negative_slope} (default 0.01, PyTorch's). */
    private ModelConfig.HiddenActivation activation(JsonNode h, String where) {
        if (!h.has("activation") && !h.has("negative_slope")) {
            return ModelConfig.HiddenActivation.RELU;
        }
        needsVersion2(where + " 'activation'");
        String name = f.string(h, "activation", where, "relu");
        ModelConfig.HiddenActivation.Kind kind = switch (name) {
            case "relu" -> ModelConfig.HiddenActivation.Kind.RELU;
            case "leaky_relu" -> ModelConfig.HiddenActivation.Kind.LEAKY_RELU;
            case "sigmoid" -> ModelConfig.HiddenActivation.Kind.SIGMOID;
            case "tanh" -> ModelConfig.HiddenActivation.Kind.TANH;
            default -> {
                f.problem(where + " 'activation' must be relu, leaky_relu, sigmoid or tanh, got '" + name + "'");
                yield ModelConfig.HiddenActivation.Kind.RELU;
            }
        };
        if (kind == ModelConfig.HiddenActivation.Kind.LEAKY_RELU) {
            return new ModelConfig.HiddenActivation(kind, f.number(h, "negative_slope", where, -1000, 1000, 0.01));
        }
        if (h.has("negative_slope")) {
            f.problem(where + " 'negative_slope' belongs to activation leaky_relu, not " + name);
        }
        return new ModelConfig.HiddenActivation(kind, 0);
    }

    private void needsVersion2(String what) {
        if (version < 2) {
            f.problem(what + " needs format_version 2 (a version-1 reader would ignore it)");
        }
    }

    private int[] hidden(JsonNode n, String where) {
        return f.ints(n, "hidden", -1, ConfigLimits.HIDDEN_LAYERS, where, 1, ConfigLimits.WIDTH, true);
    }

    private ModelConfig.Mlp mlp(JsonNode m, String where) {
        return new ModelConfig.Mlp(hidden(m, where), f.bool(m, "bn", where, false), f.bool(m, "bias", where, true));
    }
}
