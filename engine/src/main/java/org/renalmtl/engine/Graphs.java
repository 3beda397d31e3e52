package org.renalmtl.engine;

import org.renalmtl.engine.cpu.CpuGraph;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Schedule;
import org.renalmtl.engine.graph.Storage;
import org.renalmtl.engine.plan.MemoryBudget;

/** Compiles graphs of the engine's IR for a device: the entry point for networks that are not classifiers. */
public final class Graphs {
    private Graphs() {}

    /**
     * Compiles {@code graph} at its input shape.
     *
     * @param graph the graph; its constants are read while compiling only (each backend keeps its own copy)
     * @param device {@link Device#CPU}, {@code cuda:N}, or {@link Device#AUTO} (the first GPU when one is
     *     usable, else the CPU, with one logged line)
     * @param precision convolution/GEMM arithmetic on CUDA; the CPU computes in float32 whatever is asked
     * @return the compiled graph; the caller closes it
     * @throws UnsupportedOperationException if the device cannot run (the message names what is missing)
     *     or the precision is refused on it
     * @throws IllegalArgumentException if a backend cannot run a node (the message names it)
     * @throws ModelRunException if the graph needs more memory than the machine has
     */
    public static CompiledGraph compile(Graph graph, Device device, Precision precision) {
        Device d = device.resolve();
        if (d.kind() == Device.Kind.CUDA) {
            return Backends.cuda(d.index()).compile(graph, d.index(), precision);
        }
        // Dense sizes bound the real plan from below (blocked layouts only pad): refuse a shape the machine
        // cannot hold before oneDNN is asked to plan for it.
        MemoryBudget.check("activations of a graph with input " + graph.value(graph.inputs().values().iterator().next()),
                Schedule.of(graph, Storage.PLAIN).arenaBytes(), MemoryBudget.machineBytes(), "this machine");
        return CpuGraph.compile(graph);
    }
}
