package org.renalmtl.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of config fields that record a problem instead of coercing: no string where a number
 * belongs, no fraction where an integer belongs, no number outside its bounds. Each read returns a
 * harmless placeholder after recording a problem, so parsing goes on and every problem is reported.
 */
final class JsonFields {
    private final List<String> problems;

    JsonFields(List<String> problems) {
        this.problems = problems;
    }

    void problem(String p) {
        problems.add(p);
    }

    /** A JSON value as shown in a message: short, whatever its size. */
    static String show(JsonNode v) {
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }

    /** A bound as written in FORMAT.md: 1000, not 1000.0. */
    static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    JsonNode object(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject()) {
            problem(where + " has no object '" + key + "'");
            return JsonNodeFactory.instance.objectNode();
        }
        return v;
    }

    List<JsonNode> array(JsonNode n, String key, String where, int maxLength) {
        JsonNode v = n.get(key);
        List<JsonNode> out = new ArrayList<>();
        if (v == null || !v.isArray()) {
            problem(where + " has no array '" + key + "'");
        } else if (v.size() > maxLength) {
            problem(where + " '" + key + "' has " + v.size() + " entries (at most " + maxLength + ")");
        } else {
            v.forEach(out::add);
        }
        return out;
    }

    /** An integer in [min, max]; {@code dflt} when absent, or a problem if {@code dflt} is null. */
    int integer(JsonNode n, String key, String where, int min, int max, Integer dflt) {
        JsonNode v = n.get(key);
        if (v == null && dflt != null) {
            return dflt;
        }
        return integerValue(v, where + " '" + key + "'", min, max);
    }

    /** An integer value in [min, max], {@code what} naming it; {@code min} after recording a problem. */
    int integerValue(JsonNode v, String what, int min, int max) {
        if (v == null) {
            problem(what + " is missing");
        } else if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            problem(what + " must be an integer, got " + show(v));
        } else if (v.asInt() < min) {
            problem(what + " must be ≥ " + min);
        } else if (v.asInt() > max) {
            problem(what + " must be ≤ " + max + ", got " + v.asInt());
        } else {
            return v.asInt();
        }
        return min;
    }

    /**
     * An array of integers in [min, max]: exactly {@code len} of them, or (len &lt; 0) up to
     * {@code maxLen}; an empty array if absent and {@code optional}.
     */
    int[] ints(JsonNode n, String key, int len, int maxLen, String where, int min, int max, boolean optional) {
        JsonNode v = n.get(key);
        if (v == null && optional) {
            return new int[0];
        }
        return intsValue(v, where + " '" + key + "'", len, maxLen, min, max);
    }

    /** Like {@link #ints} for a value already in hand (an entry of an array of arrays); {@code what} names it. */
    int[] intsValue(JsonNode v, String what, int len, int maxLen, int min, int max) {
        if (v == null || !v.isArray() || (len >= 0 && v.size() != len) || (len < 0 && v.size() > maxLen)) {
            problem(what + " must be an array of " + (len >= 0 ? len : "at most " + maxLen) + " integers");
            return filled(Math.max(len, 0), min);
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integerValue(v.get(i), what + "[" + i + "]", min, max);
        }
        return out;
    }

    private static int[] filled(int len, int value) {
        int[] a = new int[len];
        java.util.Arrays.fill(a, value);
        return a;
    }

    /** A finite number in [min, max]; {@code dflt} when absent, or a problem if {@code dflt} is null. */
    double number(JsonNode n, String key, String where, double min, double max, Double dflt) {
        JsonNode v = n.get(key);
        if (v == null && dflt != null) {
            return dflt;
        }
        return numberValue(v, where + " '" + key + "'", min, max, dflt == null ? min : dflt);
    }

    private double numberValue(JsonNode v, String what, double min, double max, double fallback) {
        if (v == null) {
            problem(what + " is missing");
        } else if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
            problem(what + " must be a finite number, got " + show(v));
        } else if (!(v.asDouble() >= min && v.asDouble() <= max)) {
            problem(what + " " + fmt(v.asDouble()) + " is outside [" + fmt(min) + ", " + fmt(max) + "]");
        } else {
            return v.asDouble();
        }
        return fallback;
    }

    /** Exactly {@code len} finite numbers in [min, max]. */
    double[] numbers(JsonNode n, String key, int len, String where, double min, double max, double fallback) {
        JsonNode v = n.get(key);
        String what = where + " '" + key + "'";
        double[] out = new double[len];
        java.util.Arrays.fill(out, fallback);
        if (v == null || !v.isArray() || v.size() != len) {
            problem(what + " must be an array of " + len + " numbers");
            return out;
        }
        for (int i = 0; i < len; i++) {
            out[i] = numberValue(v.get(i), what + "[" + i + "]", min, max, fallback);
        }
        return out;
    }

    boolean bool(JsonNode n, String key, String where, boolean dflt) {
        JsonNode v = n.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            problem(where + " '" + key + "' must be true or false, got " + show(v));
            return dflt;
        }
        return v.asBoolean();
    }

    /** A string; {@code dflt} when absent, or a problem if {@code dflt} is null. */
    String string(JsonNode n, String key, String where, String dflt) {
        JsonNode v = n.get(key);
        if (v == null && dflt != null) {
            return dflt;
        }
        if (v == null || !v.isTextual()) {
            problem(where + " '" + key + "' must be a string" + (v == null ? "" : ", got " + show(v)));
            return dflt != null ? dflt : "";
        }
        return v.asText();
    }

    /** A name: a non-empty string of at most {@link ConfigLimits#NAME_CHARS} printable characters. */
    String name(JsonNode v, String what) {
        if (v == null || !v.isTextual()) {
            problem(what + " must be a string" + (v == null ? "" : ", got " + show(v)));
            return "";
        }
        String s = v.asText();
        if (s.isEmpty() || s.length() > ConfigLimits.NAME_CHARS || s.codePoints().anyMatch(Character::isISOControl)) {
            problem(what + " must be 1 to " + ConfigLimits.NAME_CHARS + " printable characters, got " + show(v));
        }
        return s;
    }
}
