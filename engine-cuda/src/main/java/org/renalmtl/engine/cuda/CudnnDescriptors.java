package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.Pointer;

/**
 * The cuDNN descriptors of one layer, each read back after it is set and compared with what was set
 * ({@link DescriptorCheck}), and destroyed together on {@link #close}. Tensors are float32 with the
 * explicit strides of their {@link DeviceTensor} (channels-last volumes), filters NHWC.
 */
@SuppressWarnings("deprecation") // the legacy cuDNN API: deprecated in 9.x, still shipped and the simplest fused conv
final class CudnnDescriptors implements AutoCloseable {
    private final String layer;
    private final List<Pointer> owned = new ArrayList<>();

    /** @param layer the layer's name, for messages */
    CudnnDescriptors(String layer) {
        this.layer = layer;
    }

    <T extends Pointer> T own(T p) {
        owned.add(p);
        return p;
    }

    /** @return a tensor descriptor of {@code t}'s extents and strides (a volume, or {@code (1, C, 1, 1, 1)} for a bias) */
    cudnnTensorStruct tensor(String role, long[] dims, long[] strides) {
        int[] d = ints(dims);
        int[] s = ints(strides);
        cudnnTensorStruct t = own(new cudnnTensorStruct());
        Cuda.checkDnn(cudnnCreateTensorDescriptor(t), "create tensor descriptor");
        Cuda.checkDnn(cudnnSetTensorNdDescriptor(t, CUDNN_DATA_FLOAT, d.length, d, s), layer + ": " + role
                + " tensor descriptor");
        int[] type = new int[1];
        int[] rank = new int[1];
        int[] got = new int[d.length];
        int[] gotStrides = new int[d.length];
        Cuda.checkDnn(cudnnGetTensorNdDescriptor(t, d.length, type, rank, got, gotStrides), layer + ": read back the "
                + role + " tensor descriptor");
        new DescriptorCheck(layer, role + " tensor").expect("data type", CUDNN_DATA_FLOAT, type[0])
                .expect("rank", d.length, rank[0]).expect("dims", d, got).expectStrides(d, s, gotStrides).verify();
        return t;
    }

    /** @return the descriptor of a per-channel bias, {@code (1, C, 1, 1, 1)} */
    cudnnTensorStruct bias(long channels) {
        return tensor("bias", new long[] {1, channels, 1, 1, 1}, new long[] {channels, 1, 1, 1, 1});
    }

    /** @return an NHWC float32 filter descriptor of logical (K, C, kD, kH, kW), stored (K, kD, kH, kW, C) */
    cudnnFilterStruct filter(long[] kcdhw) {
        int[] dims = ints(kcdhw);
        cudnnFilterStruct w = own(new cudnnFilterStruct());
        Cuda.checkDnn(cudnnCreateFilterDescriptor(w), "create filter descriptor");
        Cuda.checkDnn(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 5, dims),
                layer + ": filter descriptor");
        int[] type = new int[1];
        int[] format = new int[1];
        int[] rank = new int[1];
        int[] got = new int[5];
        Cuda.checkDnn(cudnnGetFilterNdDescriptor(w, 5, type, format, rank, got), layer + ": read back the filter descriptor");
        new DescriptorCheck(layer, "filter").expect("data type", CUDNN_DATA_FLOAT, type[0])
                .expect("format", CUDNN_TENSOR_NHWC, format[0]).expect("rank", 5, rank[0]).expect("dims", dims, got)
                .verify();
        return w;
    }

    /** @return a 3-D cross-correlation descriptor computing in float32, read back field by field */
    cudnnConvolutionStruct convolution(int[] padding, int[] stride, int[] dilation) {
        cudnnConvolutionStruct conv = own(new cudnnConvolutionStruct());
        Cuda.checkDnn(cudnnCreateConvolutionDescriptor(conv), "create convolution descriptor");
        Cuda.checkDnn(cudnnSetConvolutionNdDescriptor(conv, 3, padding, stride, dilation, CUDNN_CROSS_CORRELATION,
                CUDNN_DATA_FLOAT), layer + ": convolution descriptor");
        int[] length = new int[1];
        int[] gotPadding = new int[3];
        int[] gotStride = new int[3];
        int[] gotDilation = new int[3];
        int[] mode = new int[1];
        int[] compute = new int[1];
        Cuda.checkDnn(cudnnGetConvolutionNdDescriptor(conv, 3, length, gotPadding, gotStride, gotDilation, mode, compute),
                layer + ": read back the convolution descriptor");
        new DescriptorCheck(layer, "convolution").expect("spatial rank", 3, length[0])
                .expect("padding", padding, gotPadding).expect("stride", stride, gotStride)
                .expect("dilation", dilation, gotDilation).expect("mode", CUDNN_CROSS_CORRELATION, mode[0])
                .expect("compute type", CUDNN_DATA_FLOAT, compute[0]).verify();
        return conv;
    }

    /** Sets the math type of {@code conv} and reads it back. */
    void math(cudnnConvolutionStruct conv, int mathType) {
        Cuda.checkDnn(cudnnSetConvolutionMathType(conv, mathType), layer + ": math type");
        int[] got = new int[1];
        Cuda.checkDnn(cudnnGetConvolutionMathType(conv, got), layer + ": read back the math type");
        new DescriptorCheck(layer, "convolution").expect("math type", mathType, got[0]).verify();
    }

    /** @return the activation descriptor of a fused epilogue, read back */
    cudnnActivationStruct activation(ConvEpilogue e) {
        cudnnActivationStruct act = own(new cudnnActivationStruct());
        Cuda.checkDnn(cudnnCreateActivationDescriptor(act), "create activation descriptor");
        Cuda.checkDnn(cudnnSetActivationDescriptor(act, e.activationMode(), e.nanPropagation(), e.coefficient()),
                layer + ": activation descriptor");
        int[] mode = new int[1];
        int[] nan = new int[1];
        double[] coef = new double[1];
        Cuda.checkDnn(cudnnGetActivationDescriptor(act, mode, nan, coef), layer + ": read back the activation descriptor");
        new DescriptorCheck(layer, "activation").expect("mode", e.activationMode(), mode[0])
                .expect("NaN option", e.nanPropagation(), nan[0]).expect("coefficient", e.coefficient(), coef[0])
                .verify();
        return act;
    }

    /** @return {@code v} as ints, or an exception naming the layer if an extent or stride exceeds cuDNN's int */
    int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(layer + ": " + v[i] + " exceeds cuDNN's int extents and strides");
            }
            out[i] = (int) v[i];
        }
        return out;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            switch (owned.get(i)) {
                case cudnnTensorStruct t -> cudnnDestroyTensorDescriptor(t);
                case cudnnFilterStruct f -> cudnnDestroyFilterDescriptor(f);
                case cudnnConvolutionStruct c -> cudnnDestroyConvolutionDescriptor(c);
                case cudnnActivationStruct a -> cudnnDestroyActivationDescriptor(a);
                case Pointer p -> p.close();
            }
        }
        owned.clear();
    }
}
