/**
 * The CUDA backend: the same graphs and planner as the CPU backend ({@code cpu}), run on one
 * NVIDIA GPU through the bytedeco CUDA presets (cudart + driver API, cuDNN, cuBLAS) and our own
 * kernels ({@code kernels/KERNELS.md}).
 *
 * <h2>Design</h2>
 * <ul>
 *   <li>{@link org.renalmtl.engine.cuda.CudaRuntime} probes once whether a driver, a device,
 *       cuBLAS and cuDNN 9 load (catching {@code UnsatisfiedLinkError}/{@code NoClassDefFoundError},
 *       ENGINEERING.md §5) and whether cuDNN creates and destroys a handle ({@code cudnnGetVersion}
 *       answers from the front library alone; a handle needs the sub-libraries and a supported
 *       device), remembers the answer and the reason (naming the missing library and
 *       {@code LD_LIBRARY_PATH}), and logs the versions once (SLF4J). Nothing else here touches a
 *       CUDA class before it said yes. {@link org.renalmtl.engine.cuda.CudaBackendProvider}, found by
 *       {@code Model} with {@code ServiceLoader}, uses it for {@code cuda} (refuse with the reason)
 *       and {@code auto} (fall back to the CPU with one logged line).</li>
 *   <li>{@code CudaGraph} compiles a graph of the engine's IR ({@code engine.graph}) for one GPU, the
 *       twin of the CPU's {@code CpuGraph}: the same backend-neutral {@code Schedule} (liveness, one
 *       arena, in-place residuals, views, concat in place) with this backend's storage rules
 *       ({@code CudaGraph.CudaStorage}: volumes channels-last, NDHWC, so channel slices, reshapes and
 *       concats of volumes copy), and one {@code CudaKernel} per node ({@code CudaKernels}, the one
 *       switch over the IR): convolutions on cuDNN ({@code CudnnConv}), transposed convolutions as
 *       {@code cudnnConvolutionBackwardData} ({@code CudnnConvTranspose}), Linears as cuBLAS SGEMMs
 *       ({@code CublasLinear}), and our kernels for norms ({@code CudaNorm}), pooling and the type-A
 *       shortcut ({@code CudaPool}), adds and PLE gates ({@code CudaMix}) and copies
 *       ({@code CudaCopy}). Kernel launches are typed: one method per kernel in {@code Kernels}, with
 *       the kernel's name and argument order, as its CPU twin has them ({@code kernels/KERNELS.md}).
 *       Graph inputs arrive row-major; an input volume with more than one channel that a node reads
 *       whole is copied to channels-last once per run; outputs are copied back to row-major.</li>
 *   <li>Convolutions are {@code cudnnConvolutionBiasActivationForward} with BatchNorm folded by the
 *       graph, the residual as {@code z} aliasing {@code y} (the schedule's in-place residual; a
 *       residual it could not overwrite is copied into y first), ReLU or IDENTITY; the activation
 *       descriptor is {@code CUDNN_NOT_PROPAGATE_NAN} with coefficient {@code Double.MAX_VALUE}, as
 *       PyTorch and TensorFlow set it ({@code ConvEpilogue}). Every descriptor is read back after it is
 *       set and compared with what was set, strides included ({@code CudnnDescriptors},
 *       {@code DescriptorCheck}). At plan time, outside capture, {@code cudnnFind*AlgorithmEx} runs once
 *       per distinct (direction, shapes, convolution parameters, precision) of the plan
 *       ({@code FindExCache}: identical layers and the three backbones of a separate-fusion network
 *       share it; ids from {@code perf.algo()}, math types kept); its usable results are tried in
 *       order with the fused call and the first that runs is kept; when it refuses them all, or the
 *       activation is one it lacks (leaky ReLU, sigmoid, tanh), the fastest runs as
 *       {@code cudnnConvolutionForward} with β = 1 over {@code y} holding the residual, then
 *       {@code affine_act} adds the bias and applies the activation. The real workspace is the largest
 *       chosen.</li>
 *   <li>{@link org.renalmtl.engine.cuda.CudaPlan} implements {@code ExecutionPlan} for one
 *       (config, cases, D, H, W, device, {@link org.renalmtl.engine.Precision}) on the graphs the CPU
 *       runs: all weights in ONE device allocation; ONE arena (the largest network's activations, then
 *       the input and every network's outputs); one workspace (cuDNN's plus a fixed cuBLAS workspace,
 *       so cuBLAS never allocates during capture); pinned host staging. After two eager warm-ups the
 *       whole forward (upload, every network, download) is captured once as a CUDA graph
 *       ({@code cudaStreamCaptureModeThreadLocal}) and replayed by every forward: no {@code cudaMalloc}
 *       (counted by {@code DeviceBuffer}), no algorithm search. Memory is reported as the plan's own
 *       allocations, their high-water mark including the algorithm search, and the
 *       {@code cudaMemGetInfo} delta of creating the plan; {@code CudaPlan.convolutions()} says how
 *       each convolution runs ({@link org.renalmtl.engine.cuda.CudaPlan.Convolution}: layer,
 *       algorithm, math type, fused or not, workspace) by name, with no cuDNN type in the API.</li>
 *   <li>Precision ({@code ConvMath}, decided without a GPU): FP32 = {@code CUDNN_FMA_MATH} and
 *       cuBLAS default math, and only FMA_MATH search results are accepted (DEFAULT_MATH would allow
 *       TF32); TF32 = {@code CUDNN_DEFAULT_MATH} and {@code CUBLAS_TF32_TENSOR_OP_MATH} (the
 *       default); FP16 = {@code CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION}: half-precision products
 *       on float32 storage, not an fp16 model (so labelled in the benchmark JSON); BF16 is refused
 *       with a reason: half or bf16 <em>storage</em> needs float↔half conversion kernels (and half
 *       variants of the pooling kernels), which the kernels module does not have yet. Known cuDNN
 *       3-D bugs are guarded by version: on 9.10.2–9.15 (a broken TF32 3-D kernel) TF32
 *       convolutions run with FMA math and a logged warning; on 9.8–9.15 FP16 is refused with the
 *       reason (9.8–9.14 give wrong fp16 3-D convolutions, and the TF32 kernel may serve
 *       ALLOW_CONVERSION). {@link org.renalmtl.engine.cuda.CudaPrecision} says the same publicly, in
 *       words, for reports and benchmarks: a precision's arithmetic, whether this cuDNN refuses it and
 *       why, and the version guard that narrowed it.</li>
 *   <li>The GPU benchmark, {@code org.renalmtl.bench.GpuBench} in the {@code benchmarks} module
 *       ({@code benchmarks/gpu/run.sh} runs it), uses only this package's public API: p50/p90 latency
 *       of {@code CudaPlan.timeReplays} and the plan's memory figures per (weights file, batch,
 *       precision), with each result's arithmetic, refusal or version guard
 *       ({@link org.renalmtl.engine.cuda.CudaPrecision}) and every convolution's algorithm, math type
 *       and path ({@code CudaPlan.convolutions()}).</li>
 * </ul>
 *
 * <h2>Validated, and not</h2>
 * Written and compiled without a GPU (no driver on the build machine). Verified here: it compiles
 * warning-free; without a driver {@code Model.load(.., cuda)} throws
 * {@code UnsupportedOperationException} with the probe's reason and {@code auto} falls back to the
 * CPU (tests in {@code CudaFallbackTest}); the stem weight reordering; and every decision the
 * convolutions make, as plain Java ({@code ConvMathTest}: accepted math types and version guards;
 * {@code ConvEpilogueTest}: activation and residual parameters of both paths;
 * {@code FindExCacheTest}; {@code DescriptorCheckTest}; {@code BenchmarkApiTest}: the public names of
 * convolution choices and precision decisions;
 * {@code CudaRuntimeTest}: the reasons of a failed {@code cudnnCreate}); and the kernel sources, run on
 * CPU threads by {@code kernels/check-kernels.sh --emulate}. <b>Not yet run on a GPU</b>, so every
 * CUDA call path is unvalidated: context creation and module loading, kernel argument passing, cuDNN
 * descriptor set-up for 5-D NDHWC tensors and filters, the fused convolution with IDENTITY and with
 * {@code z} aliasing {@code y}, the fused-call trial and the plain fallback, the backward-data
 * transposed convolution, the descriptor read-back against real descriptors, the algorithm search,
 * cuBLAS GEMM orientation, graph capture and replay, the memory figures, and whether
 * {@code ALLOW_CONVERSION} gives FP16 tensor-core kernels for 3-D convolutions.
 * {@code CudaOpsOracleTest} (every IR op against the engine's float64 reference, the CPU's per-op
 * oracle on the GPU), {@code CudaPlanTest}, {@code CudnnConvTest} (both paths, every epilogue) and
 * {@code KernelTwinTest} check all of this on a GPU (against PyTorch fixtures, the reference, the CPU
 * plan and the CPU twins); they are skipped with the probe's reason elsewhere.
 */
package org.renalmtl.engine.cuda;
