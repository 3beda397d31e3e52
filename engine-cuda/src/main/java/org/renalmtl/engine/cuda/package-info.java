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
 *   <li>{@link org.renalmtl.engine.cuda.CudaPlan} implements {@code ExecutionPlan} for one
 *       (config, cases, D, H, W, device, {@link org.renalmtl.engine.Precision}).
 *       Activations are NDHWC float32; the input's channels are zero-padded to 8 by
 *       {@code ncdhw_to_ndhwc} (and the stem weights likewise) so tensor cores apply.
 *       Convolutions ({@code CudnnConv}) are {@code cudnnConvolutionBiasActivationForward} with
 *       BatchNorm folded by the graph, the residual as {@code z} aliasing {@code y} (the graph's
 *       in-place residual), ReLU or IDENTITY (the shortcut-B convs); the activation descriptor is
 *       {@code CUDNN_NOT_PROPAGATE_NAN} with coefficient {@code Double.MAX_VALUE}, as PyTorch and
 *       TensorFlow set it ({@code ConvEpilogue}). Every descriptor is read back after it is set and
 *       compared with what was set (NDHWC strides included); a difference throws naming the layer
 *       ({@code DescriptorCheck}). At plan time, outside capture,
 *       {@code cudnnFindConvolutionForwardAlgorithmEx} runs once per distinct (shapes, convolution
 *       parameters, precision) of the plan ({@code FindExCache}: identical layers and the three
 *       backbones of a separate-fusion network share it; ids from {@code perf.algo()}, math types
 *       kept); its usable results are tried in order with the fused call and the first that runs is
 *       kept; when it refuses them all, the fastest runs as {@code cudnnConvolutionForward} with
 *       β = 1 over {@code y} holding the residual, then {@code bias_act} adds the bias and applies
 *       ReLU. The real workspace is the largest chosen.
 *       Max-pool, type-A shortcut, global average pool, {@code bias_act},
 *       {@code gate_softmax_mix} and {@code sigmoid} are our kernels, loaded with
 *       {@code cuModuleLoadData} and launched with {@code cuLaunchKernel} from argument cells
 *       written once; Linear layers are cuBLAS SGEMMs. Tower logits land straight in their model
 *       column; all towers' final biases are added by one {@code bias_act}, then {@code sigmoid}.</li>
 *   <li>Memory: all weights in ONE device allocation; activations of all networks in ONE arena
 *       placed by {@code ArenaPlanner} with the CPU plan's liveness (networks run in sequence and
 *       share it), followed by the device input, logits and fused features; one workspace (cuDNN's
 *       plus a fixed cuBLAS workspace, so cuBLAS never allocates during capture); pinned host
 *       staging for input and probabilities. After creation a forward calls no {@code cudaMalloc}
 *       (counted by {@code DeviceBuffer}) and no algorithm search.</li>
 *   <li>CUDA graph: after two eager warm-ups on the plan's stream the whole forward (upload,
 *       layouts, convolutions, pools, head, sigmoid, download) is captured once
 *       ({@code cudaStreamCaptureModeThreadLocal}) and replayed by every
 *       {@link org.renalmtl.engine.cuda.CudaPlan#forward}. Memory is reported as the plan's own
 *       allocations, their high-water mark including the algorithm search, and the
 *       {@code cudaMemGetInfo} delta of creating the plan (context excluded).</li>
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
 *       ALLOW_CONVERSION).</li>
 *   <li>{@link org.renalmtl.engine.cuda.GpuBench}: p50/p90 latency of graph replays with CUDA
 *       events and device memory per (weights file, batch, precision), JSON for
 *       {@code benchmarks/gpu/run.sh}, with each result's arithmetic in words, the version guard
 *       that applied, and every convolution's algorithm, math type and path (fused or not).</li>
 * </ul>
 *
 * <h2>Validated, and not</h2>
 * Written and compiled without a GPU (no driver on the build machine). Verified here: it compiles
 * warning-free; without a driver {@code Model.load(.., cuda)} throws
 * {@code UnsupportedOperationException} with the probe's reason and {@code auto} falls back to the
 * CPU (tests in {@code CudaFallbackTest}); the stem weight reordering; and every decision the
 * convolutions make, as plain Java ({@code ConvMathTest}: accepted math types and version guards;
 * {@code ConvEpilogueTest}: activation and residual parameters of both paths;
 * {@code FindExCacheTest}; {@code DescriptorCheckTest}; {@code GpuBenchJsonTest};
 * {@code CudaRuntimeTest}: the reasons of a failed {@code cudnnCreate}). <b>Not yet run on a GPU</b>,
 * so every CUDA call path is unvalidated: context creation and module loading, kernel argument
 * passing, cuDNN descriptor set-up for 5-D NDHWC tensors and filters, the fused convolution with
 * IDENTITY and with {@code z} aliasing {@code y}, the fused-call trial and the plain fallback, the
 * descriptor read-back against real descriptors, the algorithm search, cuBLAS GEMM orientation,
 * graph capture and replay, the memory figures, and whether {@code ALLOW_CONVERSION} gives FP16
 * tensor-core kernels for 3-D convolutions. {@code CudaPlanTest}, {@code CudnnConvTest} (one layer,
 * both paths, against the engine's float64 reference convolution) and {@code KernelTwinTest} check
 * all of this on a GPU (against PyTorch float64 fixtures, the CPU plan and the CPU twins); they are
 * skipped with the probe's reason elsewhere.
 */
package org.renalmtl.engine.cuda;
