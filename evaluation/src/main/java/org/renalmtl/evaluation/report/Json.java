package org.renalmtl.evaluation.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;

/**
 * JSON and text formatting shared by the outputs. Non-finite numbers (an infinite ROC threshold, an
 * undefined PPV) are written as JSON null, since JSON has no NaN or infinity; CSV files use R's
 * spellings NA, Inf and -Inf so that they read back into R unchanged.
 */
public final class Json {

    /** Pretty-printing mapper. */
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /** Puts a number, or null when it is not finite. */
    public static ObjectNode put(ObjectNode node, String key, double value) {
        if (Double.isFinite(value)) {
            node.put(key, value);
        } else {
            node.putNull(key);
        }
        return node;
    }

    /** A two-element array [low, high]. */
    public static ArrayNode interval(double low, double high) {
        ArrayNode a = MAPPER.createArrayNode();
        addNumber(a, low);
        addNumber(a, high);
        return a;
    }

    /** Appends a number, or null when it is not finite. */
    public static void addNumber(ArrayNode a, double v) {
        if (Double.isFinite(v)) {
            a.add(v);
        } else {
            a.addNull();
        }
    }

    /** Serialises a tree to UTF-8 bytes. */
    public static byte[] bytes(ObjectNode root) {
        try {
            return MAPPER.writeValueAsBytes(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("JSON serialisation of a tree failed", e);
        }
    }

    /** A number for CSV, as R writes it: shortest round-trip digits, NA, Inf, -Inf. */
    public static String csvNumber(double v) {
        if (Double.isNaN(v)) {
            return "NA";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Inf" : "-Inf";
        }
        return Double.toString(v);
    }

    /** A number for people: fixed decimals, "NA" when undefined, "−Inf"/"Inf" for infinities. */
    public static String fixed(double v, int decimals) {
        if (Double.isNaN(v)) {
            return "NA";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Inf" : "-Inf";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A p-value for people: 4 significant digits, "&lt; 1e-16" style below double resolution. */
    public static String pValue(double p) {
        if (Double.isNaN(p)) {
            return "NA";
        }
        if (p < 1e-16) {
            return "< 1e-16";
        }
        return p < 1e-4 ? String.format(Locale.ROOT, "%.3e", p) : String.format(Locale.ROOT, "%.4f", p);
    }
}
