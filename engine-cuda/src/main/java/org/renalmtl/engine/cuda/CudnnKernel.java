package org.renalmtl.engine.cuda;

import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;

/**
 * What the two cuDNN convolution kernels share: their descriptors (freed on close), the algorithm
 * {@link #choose} settled on, and the plan's workspace they issue with.
 */
abstract class CudnnKernel extends CudaKernel {
    protected final CudnnDescriptors desc;
    protected ConvChoice choice; // set by choose
    protected Pointer workspace;
    protected long workspaceBytes;

    CudnnKernel(Graph graph, Node node) {
        super(graph, node);
        this.desc = new CudnnDescriptors(node.name());
    }

    /** Issues the layer as chosen with the given workspace; a cuDNN status. */
    abstract int issue(CudaContext ctx, Pointer ws, long wsBytes);

    @Override
    final void enqueue(CudaContext ctx) {
        Cuda.checkDnn(issue(ctx, workspace, workspaceBytes), node.name());
    }

    @Override
    final List<ConvChoice> choices() {
        return choice == null ? List.of() : List.of(choice);
    }

    @Override
    final void setWorkspace(long address, long bytes) {
        workspace = Cuda.at(address);
        workspaceBytes = bytes;
    }

    @Override
    public final void close() {
        desc.close();
    }
}
