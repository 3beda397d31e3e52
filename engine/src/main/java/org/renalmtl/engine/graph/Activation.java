package org.renalmtl.engine.graph;

/**
 * The activation an op applies to its result (a conv's, a norm's, a Linear's or an add's epilogue).
 *
 * @param kind which function
 * @param slope the negative slope of {@link Kind#LEAKY_RELU}; 0 for the others
 */
public record Activation(Kind kind, float slope) {
    /** The activation functions backends fuse. */
    public enum Kind {
        /** identity */
        NONE,
        /** max(x, 0) */
        RELU,
        /** x ≥ 0 ? x : slope·x (nnU-Net: slope 0.01) */
        LEAKY_RELU,
        /** 1 / (1 + e^-x) */
        SIGMOID,
        /** tanh(x) */
        TANH
    }

    /** The identity. */
    public static final Activation NONE = new Activation(Kind.NONE, 0f);
    /** ReLU. */
    public static final Activation RELU = new Activation(Kind.RELU, 0f);
    /** The logistic sigmoid. */
    public static final Activation SIGMOID = new Activation(Kind.SIGMOID, 0f);
    /** tanh. */
    public static final Activation TANH = new Activation(Kind.TANH, 0f);

    /** Validates: only leaky ReLU has a slope, and it is finite. */
    public Activation {
        if (kind == null || (kind != Kind.LEAKY_RELU && slope != 0f) || !Float.isFinite(slope)) {
            throw new IllegalArgumentException("activation " + kind + " with slope " + slope);
        }
    }

    /** @return leaky ReLU with this negative slope */
    public static Activation leakyRelu(float slope) {
        return new Activation(Kind.LEAKY_RELU, slope);
    }

    /**
     * The definition, in double so that references built on it round once: the plain Java twin of every
     * backend's fused epilogue.
     */
    public double apply(double x) {
        return switch (kind) {
            case NONE -> x;
            case RELU -> x <= 0 ? 0 : x; // NaN fails the test and stays NaN; x86 max would give 0
            case LEAKY_RELU -> x >= 0 ? x : slope * x;
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
        };
    }

    @Override
    public String toString() {
        return kind == Kind.LEAKY_RELU ? "leaky_relu(" + slope + ")" : kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}
