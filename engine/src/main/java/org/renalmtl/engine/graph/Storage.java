package org.renalmtl.engine.graph;

/**
 * What a backend tells the {@link Schedule} about how it stores values: the bytes each value takes in
 * the layout the backend chose for it, which of the schedule's aliases that layout can express, and the
 * scratch each node needs. This is a backend's whole say in memory: it chooses layouts (oneDNN blocked
 * formats, cuDNN NDHWC) and reports their consequences here; liveness and placement are the schedule's,
 * computed once for every backend alike.
 *
 * <p>Offsets and strides in a schedule are those of the plain row-major layout of each value's logical
 * shape. A backend that stores a value otherwise allows an alias only where its layout's addresses
 * coincide with them: for example oneDNN's {@code nCdhw16c} can hold a concat input at a channel offset
 * that is a multiple of 16 inside an output whose channel count is one too, but cannot reshape a
 * channel-padded tensor in place.
 *
 * <p>Every method has the answer of a dense row-major backend, {@link #PLAIN}; a backend overrides
 * what its layouts change.
 */
public interface Storage {
    /** The ways a node's output may share memory with one of its inputs. */
    enum Alias {
        /** A {@link Op.Conv3d} with residual or an {@link Op.Add} writes its output over that input. */
        IN_PLACE,
        /** A {@link Op.Reshape}'s output is its input's bytes under another shape. */
        RESHAPE,
        /** A contiguous {@link Op.Slice}'s output is a range of its input's bytes. */
        SLICE,
        /**
         * A {@link Op.Concat}'s input is written by its producer straight into its slice of the output,
         * strided when the batch is above 1; nodes that read that input before the concat read it there.
         */
        CONCAT
    }

    /** Dense row-major storage that can express every alias, with no scratch: the reference's. */
    Storage PLAIN = new Storage() {};

    /**
     * Asked only of values that nodes write: graph inputs are dense in the caller's memory.
     *
     * @param graph the graph being scheduled
     * @param value a value id
     * @return bytes its storage takes in the backend's layout; at least {@link Value#bytes()}
     */
    default long bytes(Graph graph, int value) {
        return graph.value(value).bytes();
    }

    /**
     * Asked only where the schedule's own rules already allow the alias, so a backend judges its layouts
     * alone.
     *
     * @param graph the graph being scheduled
     * @param node the node whose output would alias
     * @param input index (within the node's inputs) of the input it would share memory with
     * @param how the kind of sharing
     * @return whether the backend can run the node that way
     */
    default boolean canAlias(Graph graph, int node, int input, Alias how) {
        return true;
    }

    /**
     * @param graph the graph being scheduled
     * @param node a node that does work (the schedule does not ask about nodes it elides)
     * @return scratch bytes the node's kernel needs while it runs
     */
    default long workspace(Graph graph, int node) {
        return 0;
    }
}
