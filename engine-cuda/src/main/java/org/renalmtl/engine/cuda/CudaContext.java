package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.SizeTPointer;
import org.renalmtl.engine.Precision;

/**
 * What every kernel of a plan issues on: one device, one non-blocking stream, a cuDNN and a cuBLAS
 * handle bound to it, our kernels loaded, and the precision's math types ({@link ConvMath#decide}).
 * Several graphs that run one after another share one context, as they share one arena.
 */
final class CudaContext implements AutoCloseable {
    final int device;
    final ConvMath.Use math;
    final CUstream_st stream;
    final cudnnContext dnn;
    final cublasContext blas;
    final Kernels kernels;
    private boolean closed;

    /**
     * Creates the context on {@code device}.
     *
     * @throws UnsupportedOperationException if the precision is refused on this cuDNN version or the
     *     device is unusable (the probe's reason)
     * @throws CudaException if a CUDA call fails
     */
    CudaContext(int device, Precision precision) {
        // Without a GPU the version is 0 and only the build's own refusal (bf16) applies, before require's reason.
        this.math = switch (ConvMath.decide(precision, CudaRuntime.cudnnVersion())) {
            case ConvMath.Refuse r -> throw new UnsupportedOperationException(r.reason());
            case ConvMath.Use u -> u;
        };
        CudaRuntime.require(device);
        this.device = device;
        CUstream_st s = null;
        cudnnContext d = null;
        cublasContext b = null;
        Kernels k = null;
        try {
            Cuda.check(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
            Cuda.check(cudaFree(null), "create the CUDA context");
            s = new CUstream_st();
            Cuda.check(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), "create stream");
            d = new cudnnContext();
            Cuda.checkDnn(cudnnCreate(d), "cudnnCreate");
            Cuda.checkDnn(cudnnSetStream(d, s), "cudnnSetStream");
            b = new cublasContext();
            Cuda.checkBlas(cublasCreate_v2(b), "cublasCreate");
            Cuda.checkBlas(cublasSetStream_v2(b, s), "cublasSetStream");
            Cuda.checkBlas(cublasSetMathMode(b, precision == Precision.FP32 ? CUBLAS_DEFAULT_MATH
                    : CUBLAS_TF32_TENSOR_OP_MATH), "cublasSetMathMode");
            k = new Kernels(device);
        } catch (RuntimeException e) {
            release(s, d, b, k);
            throw e;
        }
        this.stream = s;
        this.dnn = d;
        this.blas = b;
        this.kernels = k;
    }

    /** Makes this context's device current on the calling thread. */
    void use() {
        if (closed) {
            throw new IllegalStateException("CUDA context closed");
        }
        Cuda.check(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
    }

    /** Waits for everything issued on the stream. */
    void synchronize(String what) {
        Cuda.check(cudaStreamSynchronize(stream), what);
    }

    /** @return free bytes on this context's device now ({@code cudaMemGetInfo}) */
    long freeDeviceBytes() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Cuda.check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return free.get();
        }
    }

    private static void release(CUstream_st s, cudnnContext d, cublasContext b, Kernels k) {
        if (k != null) {
            k.close();
        }
        if (b != null && !b.isNull()) {
            cublasDestroy_v2(b);
        }
        if (d != null && !d.isNull()) {
            cudnnDestroy(d);
        }
        if (s != null && !s.isNull()) {
            cudaStreamSynchronize(s);
            cudaStreamDestroy(s);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cudaSetDevice(device);
        release(stream, dnn, blas, kernels);
    }
}
