// GPU check of the renal-mtl kernels, loaded from the committed fatbin exactly as the Java engine
// loads them (driver API: cuModuleLoadData, cuModuleGetFunction, cuLaunchKernel with block 256 and
// grids from the same rule as KernelImage.gridSize). Needs a GPU; nothing links against CUDA: the
// driver is opened with dlopen, so the binary builds on a machine without one.
//
//   g++ -O2 -std=c++17 -I/usr/local/cuda/include kernel_check.cpp -ldl -o kernel_check
//   ./kernel_check path/to/renal_mtl.fatbin [--json out.json]
//
// For each kernel: fresh random inputs, the output poisoned (0x7FC0DEAD, a NaN) before each launch,
// every element compared with a CPU reference (float64 where the kernel does arithmetic, bit-exact
// where it only moves data), several shapes that hit the float4 path, the scalar path (odd channel
// counts, pointers offset by one float), channel/row tails, and the 64-bit index path (a grid of more
// than 2^31 threads forces it). Entries outside a kernel's output must keep the poison. Then each
// kernel is timed at the R18-3P-96 shapes (CUDA events, median of 50) and its bytes moved reported.
// Exit code 0 only if every check passed.
//
// Built with -DRMTL_EMULATE (and -std=c++20 -pthread), the same checks run the kernel SOURCES on
// the CPU through emulate.h instead of the fatbin on a GPU: the argument is then ignored, the
// "driver" below is a host stand-in, and the timing section is skipped.
#include <cuda.h>
#include <dlfcn.h>

#ifdef RMTL_EMULATE
#include <chrono>
#include <functional>
#include <map>
#include <thread>
#include "emulate.h"
#include "../../main/cuda/layout.cu"
#include "../../main/cuda/pooling.cu"
#include "../../main/cuda/shortcut.cu"
#include "../../main/cuda/head.cu"
#endif

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

#define DRIVER_FUNCS(X)                                                                                   \
    X(cuInit, CUresult(unsigned))                                                                     \
    X(cuDriverGetVersion, CUresult(int*))                                                             \
    X(cuDeviceGet, CUresult(CUdevice*, int))                                                          \
    X(cuDeviceGetName, CUresult(char*, int, CUdevice))                                                \
    X(cuDeviceGetAttribute, CUresult(int*, CUdevice_attribute, CUdevice))                             \
    X(cuDevicePrimaryCtxRetain, CUresult(CUcontext*, CUdevice))                                       \
    X(cuCtxSetCurrent, CUresult(CUcontext))                                                           \
    X(cuCtxSynchronize, CUresult())                                                                   \
    X(cuModuleLoadData, CUresult(CUmodule*, const void*))                                             \
    X(cuModuleGetFunction, CUresult(CUfunction*, CUmodule, const char*))                              \
    X(cuFuncGetAttribute, CUresult(int*, CUfunction_attribute, CUfunction))                           \
    X(cuLaunchKernel, CUresult(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, \
                                   unsigned, CUstream, void**, void**))                                   \
    X(cuMemAlloc_v2, CUresult(CUdeviceptr*, size_t))                                                  \
    X(cuMemFree_v2, CUresult(CUdeviceptr))                                                            \
    X(cuMemcpyHtoD_v2, CUresult(CUdeviceptr, const void*, size_t))                                    \
    X(cuMemcpyDtoH_v2, CUresult(void*, CUdeviceptr, size_t))                                          \
    X(cuMemsetD32_v2, CUresult(CUdeviceptr, unsigned, size_t))                                        \
    X(cuEventCreate, CUresult(CUevent*, unsigned))                                                    \
    X(cuEventRecord, CUresult(CUevent, CUstream))                                                     \
    X(cuEventSynchronize, CUresult(CUevent))                                                          \
    X(cuEventElapsedTime, CUresult(float*, CUevent, CUevent))                                         \
    X(cuGetErrorString, CUresult(CUresult, const char**))

#define DECLARE(name, type) [[maybe_unused]] std::add_pointer_t<type> p_##name = nullptr;
DRIVER_FUNCS(DECLARE)

void die(const std::string& what) {
    std::fprintf(stderr, "kernel_check: error: %s\n", what.c_str());
    std::exit(2);
}

void ck(CUresult r, const char* what) {
    if (r != CUDA_SUCCESS) {
        const char* s = "?";
        if (p_cuGetErrorString) p_cuGetErrorString(r, &s);
        die(std::string(what) + ": " + s + " (" + std::to_string((int)r) + ")");
    }
}

#ifndef RMTL_EMULATE
void loadDriver() {
    void* h = dlopen("libcuda.so.1", RTLD_NOW);
    if (!h) die(std::string("cannot open libcuda.so.1: ") + dlerror());
#define RESOLVE(name, type)                                                     \
    p_##name = reinterpret_cast<std::add_pointer_t<type>>(dlsym(h, #name));     \
    if (!p_##name) die("libcuda.so.1 lacks " #name);
    DRIVER_FUNCS(RESOLVE)
}
#else
// Host stand-in for the driver: device pointers are host pointers, a "module" is the table of
// kernels compiled into this binary, a launch runs every block's threads as OS threads.
using Adapter = std::function<void(void**)>;
template <typename T> T argAt(void** a, int i) { T v; std::memcpy(&v, a[i], sizeof v); return v; }
std::map<std::string, Adapter>& emulatedKernels() {
    static std::map<std::string, Adapter> k = {
        {"ncdhw_to_ndhwc", [](void** a) { ncdhw_to_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5)); }},
        {"maxpool3d_ndhwc", [](void** a) { maxpool3d_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7), argAt<int>(a, 8), argAt<int>(a, 9), argAt<int>(a, 10), argAt<int>(a, 11), argAt<int>(a, 12)); }},
        {"global_avg_pool_ndhwc", [](void** a) { global_avg_pool_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5)); }},
        {"shortcut_a_ndhwc", [](void** a) { shortcut_a_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7), argAt<int>(a, 8), argAt<int>(a, 9), argAt<int>(a, 10), argAt<int>(a, 11)); }},
        {"bias_act", [](void** a) { bias_act(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4)); }},
        {"gate_softmax_mix", [](void** a) { gate_softmax_mix(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<const float*>(a, 2), argAt<const int*>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7)); }},
        {"sigmoid", [](void** a) { sigmoid(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2)); }},
    };
    return k;
}
// Blocks past this many are not run: the checks size their data so that, with a larger grid (the
// 64-bit path test's 2^23 + 1 blocks), every block beyond it would find no work in its first
// grid-stride step anyway.
const unsigned kEmulatedBlocks = 4096;
CUresult emuLaunch(CUfunction f, unsigned gx, unsigned, unsigned, unsigned bx, unsigned, unsigned, unsigned, CUstream,
                   void** args, void**) {
    if (bx > 256 || bx % 32 != 0) return CUDA_ERROR_INVALID_VALUE;  // __launch_bounds__(256); warps whole
    const Adapter& kernel = *reinterpret_cast<const Adapter*>(f);
    gridDim.x = gx;
    blockDim.x = bx;
    for (unsigned b = 0; b < std::min(gx, kEmulatedBlocks); ++b) {
        std::barrier<> block(bx);
        std::vector<std::unique_ptr<std::barrier<>>> warps;
        for (unsigned w = 0; w < bx / 32; ++w) { warps.emplace_back(new std::barrier<>(32)); rmtl_warp_barrier[w] = warps.back().get(); }
        rmtl_block_barrier = &block;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < bx; ++t)
            threads.emplace_back([&, t] { blockIdx.x = b; threadIdx.x = t; kernel(args); });
        for (auto& t : threads) t.join();
    }
    return CUDA_SUCCESS;
}
void loadDriver() {
    p_cuInit = [](unsigned) { return CUDA_SUCCESS; };
    p_cuDriverGetVersion = [](int* v) { *v = 0; return CUDA_SUCCESS; };
    p_cuDeviceGet = [](CUdevice* d, int) { *d = 0; return CUDA_SUCCESS; };
    p_cuDeviceGetName = [](char* n, int len, CUdevice) { std::snprintf(n, len, "host emulation (emulate.h)"); return CUDA_SUCCESS; };
    p_cuDeviceGetAttribute = [](int* v, CUdevice_attribute a, CUdevice) {
        // Two "SMs" keep grids small (at most 64 blocks), so the grid-stride loops take many steps.
        *v = a == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT ? 2 : 0;
        return CUDA_SUCCESS;
    };
    p_cuDevicePrimaryCtxRetain = [](CUcontext* c, CUdevice) { *c = nullptr; return CUDA_SUCCESS; };
    p_cuCtxSetCurrent = [](CUcontext) { return CUDA_SUCCESS; };
    p_cuCtxSynchronize = []() { return CUDA_SUCCESS; };
    p_cuModuleLoadData = [](CUmodule* m, const void*) { *m = nullptr; return CUDA_SUCCESS; };
    p_cuModuleGetFunction = [](CUfunction* f, CUmodule, const char* name) {
        auto it = emulatedKernels().find(name);
        if (it == emulatedKernels().end()) return CUDA_ERROR_NOT_FOUND;
        *f = reinterpret_cast<CUfunction>(&it->second);
        return CUDA_SUCCESS;
    };
    p_cuFuncGetAttribute = [](int* v, CUfunction_attribute a, CUfunction) {
        *v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 256 : 0;
        return CUDA_SUCCESS;
    };
    p_cuLaunchKernel = emuLaunch;
    p_cuMemAlloc_v2 = [](CUdeviceptr* p, size_t bytes) {
        *p = reinterpret_cast<CUdeviceptr>(std::aligned_alloc(256, (bytes + 255) / 256 * 256));
        return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
    };
    p_cuMemFree_v2 = [](CUdeviceptr p) { std::free(reinterpret_cast<void*>(p)); return CUDA_SUCCESS; };
    p_cuMemcpyHtoD_v2 = [](CUdeviceptr d, const void* h, size_t n) { std::memcpy(reinterpret_cast<void*>(d), h, n); return CUDA_SUCCESS; };
    p_cuMemcpyDtoH_v2 = [](void* h, CUdeviceptr d, size_t n) { std::memcpy(h, reinterpret_cast<void*>(d), n); return CUDA_SUCCESS; };
    p_cuMemsetD32_v2 = [](CUdeviceptr d, unsigned v, size_t n) { std::fill_n(reinterpret_cast<unsigned*>(d), n, v); return CUDA_SUCCESS; };
    p_cuGetErrorString = [](CUresult, const char** s) { *s = "emulated launch refused"; return CUDA_SUCCESS; };
}
#endif

const unsigned kBlock = 256;  // KernelImage.BLOCK_THREADS
int gSMs = 0;

unsigned gridFor(long long work) {  // KernelImage.gridSize
    long long b = (work + kBlock - 1) / kBlock;
    return (unsigned)std::max(1LL, std::min(b, 32LL * gSMs));
}

struct Dev {  // device buffer with a guard-free size record
    CUdeviceptr p = 0;
    size_t n = 0;
    explicit Dev(size_t floats) : n(floats) { ck(p_cuMemAlloc_v2(&p, std::max<size_t>(floats, 1) * 4 + 64), "cuMemAlloc"); }
    ~Dev() { p_cuMemFree_v2(p); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
};

const unsigned kPoison = 0x7FC0DEADu;

void upload(CUdeviceptr d, const void* h, size_t bytes) { ck(p_cuMemcpyHtoD_v2(d, h, bytes), "cuMemcpyHtoD"); }
void poison(CUdeviceptr d, size_t floats) { ck(p_cuMemsetD32_v2(d, kPoison, floats), "cuMemsetD32"); }
std::vector<float> download(CUdeviceptr d, size_t floats) {
    std::vector<float> h(floats);
    ck(p_cuMemcpyDtoH_v2(h.data(), d, floats * 4), "cuMemcpyDtoH");
    return h;
}
bool isPoison(float v) { unsigned u; std::memcpy(&u, &v, 4); return u == kPoison; }

struct Arg {  // one cuLaunchKernel argument: a host cell holding the value
    unsigned char cell[8];
    Arg(CUdeviceptr p) { std::memcpy(cell, &p, 8); }
    Arg(int v) { std::memcpy(cell, &v, 4); }
};

void launch(CUfunction f, unsigned grid, std::vector<Arg> args, unsigned block = kBlock) {
    std::vector<void*> ptrs;
    for (auto& a : args) ptrs.push_back(a.cell);
    ck(p_cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, nullptr, ptrs.data(), nullptr), "cuLaunchKernel");
    ck(p_cuCtxSynchronize(), "kernel execution");
}

std::mt19937_64 rng(12345);
std::vector<float> randn(size_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

int gFailures = 0, gChecks = 0;
std::ostringstream gJson;

void report(const std::string& name, bool ok, const std::string& detail) {
    ++gChecks;
    if (!ok) ++gFailures;
    std::printf("%-6s %-60s %s\n", ok ? "ok" : "FAIL", name.c_str(), detail.c_str());
    gJson << (gChecks > 1 ? ",\n" : "") << "    {\"check\": \"" << name << "\", \"ok\": " << (ok ? "true" : "false")
          << ", \"detail\": \"" << detail << "\"}";
}

// Compares got[i] with want[i] for i in [0, n); exact when tol < 0 (bit-equal or both NaN), else
// |got - want| <= tol * scale. Entries flagged in `untouched` must still hold the poison.
void compare(const std::string& name, const std::vector<float>& got, const std::vector<double>& want,
             double tol, double scale, const std::vector<bool>* untouched = nullptr) {
    size_t bad = 0, unwritten = 0, first = (size_t)-1;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        if (untouched && (*untouched)[i]) {
            if (!isPoison(got[i])) { ++bad; if (first == (size_t)-1) first = i; }
            continue;
        }
        if (isPoison(got[i])) { ++unwritten; if (first == (size_t)-1) first = i; continue; }
        bool ok;
        if (std::isnan(want[i])) ok = std::isnan(got[i]);
        else if (tol < 0) ok = (double)got[i] == want[i] && std::signbit(got[i]) == std::signbit(want[i]);
        else {
            double e = std::fabs((double)got[i] - want[i]);
            worst = std::max(worst, e / scale);
            ok = e <= tol * scale;
        }
        if (!ok) { ++bad; if (first == (size_t)-1) first = i; }
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%zu elems, %zu wrong, %zu unwritten, max rel err %.2e%s", got.size(), bad, unwritten,
                  worst, first == (size_t)-1 ? "" : (" first at " + std::to_string(first)).c_str());
    report(name, bad == 0 && unwritten == 0, buf);
}

CUfunction fLayout, fMaxpool, fGap, fShortcut, fBiasAct, fGate, fSigmoid;

// ---------------------------------------------------------------- layout
void checkLayout(int n, int c, int spatial, int cpad, int outOffset, unsigned block = kBlock, unsigned gridOverride = 0) {
    auto in = randn((size_t)n * c * spatial);
    Dev din(in.size()), dout((size_t)n * spatial * cpad + outOffset);
    upload(din.p, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    long long work = cpad <= 16 ? (long long)n * spatial : (long long)n * ((spatial + 31) / 32) * ((cpad + 31) / 32) * kBlock;
    launch(fLayout, gridOverride ? gridOverride : gridFor(work), {dout.p + 4ull * outOffset, din.p, n, c, spatial, cpad}, block);
    auto got = download(dout.p + 4ull * outOffset, (size_t)n * spatial * cpad);
    std::vector<double> want(got.size());
    for (int i = 0; i < n; ++i)
        for (int s = 0; s < spatial; ++s)
            for (int ch = 0; ch < cpad; ++ch)
                want[((size_t)i * spatial + s) * cpad + ch] = ch < c ? in[((size_t)i * c + ch) * spatial + s] : 0.0;
    char name[160];
    std::snprintf(name, sizeof name, "ncdhw_to_ndhwc n=%d c=%d sp=%d cpad=%d off=%d blk=%u%s", n, c, spatial, cpad, outOffset,
                  block, gridOverride ? " 64-bit" : "");
    compare(name, got, want, -1, 1);
}

// ---------------------------------------------------------------- maxpool
void checkMaxpool(int n, int d, int h, int w, int c, int k, int s, int pad, int inOffset, bool nans, unsigned gridOverride = 0) {
    int od = (d + 2 * pad - k) / s + 1, oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
    auto in = randn((size_t)n * d * h * w * c);
    if (nans) for (size_t i = 0; i < in.size(); i += 997) in[i] = NAN;
    Dev din(in.size() + inOffset), dout((size_t)n * od * oh * ow * c);
    upload(din.p + 4ull * inOffset, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    launch(fMaxpool, gridOverride ? gridOverride : gridFor((long long)dout.n),
           {dout.p, din.p + 4ull * inOffset, n, d, h, w, c, od, oh, ow, k, s, pad});
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size());
    for (int i = 0; i < n; ++i)
        for (int z = 0; z < od; ++z)
            for (int y = 0; y < oh; ++y)
                for (int x = 0; x < ow; ++x)
                    for (int ch = 0; ch < c; ++ch) {
                        double m = -INFINITY;
                        for (int zz = z * s - pad; zz < z * s - pad + k; ++zz)
                            for (int yy = y * s - pad; yy < y * s - pad + k; ++yy)
                                for (int xx = x * s - pad; xx < x * s - pad + k; ++xx) {
                                    if (zz < 0 || yy < 0 || xx < 0 || zz >= d || yy >= h || xx >= w) continue;
                                    double v = in[((((size_t)i * d + zz) * h + yy) * w + xx) * c + ch];
                                    if (std::isnan(v) || v > m) m = v;
                                    if (std::isnan(m)) break;
                                }
                        want[((((size_t)i * od + z) * oh + y) * ow + x) * c + ch] = m;
                    }
    char name[160];
    std::snprintf(name, sizeof name, "maxpool3d_ndhwc n=%d %dx%dx%d c=%d k%d s%d p%d off=%d%s%s", n, d, h, w, c, k, s, pad, inOffset,
                  nans ? " NaN" : "", gridOverride ? " 64-bit" : "");
    compare(name, got, want, -1, 1);
}

// ---------------------------------------------------------------- global average pool
void checkGap(int n, int spatial, int c, int rowStride, int colOffset, int inOffset, unsigned block = kBlock) {
    auto in = randn((size_t)n * spatial * c);
    for (auto& v : in) v += 0.5f;  // a non-zero mean, so the relative error is against a real signal
    Dev din(in.size() + inOffset), dout((size_t)n * rowStride);
    upload(din.p + 4ull * inOffset, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    launch(fGap, gridFor((long long)n * ((c + 31) / 32) * kBlock), {dout.p + 4ull * colOffset, din.p + 4ull * inOffset, n, spatial, c, rowStride}, block);
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size(), 0.0);
    std::vector<bool> untouched(got.size(), true);
    double scale = 0;
    for (int i = 0; i < n; ++i)
        for (int ch = 0; ch < c; ++ch) {
            double sum = 0, abs = 0;
            for (int s = 0; s < spatial; ++s) { sum += in[((size_t)i * spatial + s) * c + ch]; abs += std::fabs(in[((size_t)i * spatial + s) * c + ch]); }
            size_t o = (size_t)i * rowStride + colOffset + ch;
            want[o] = sum / spatial;
            untouched[o] = false;
            scale = std::max(scale, abs / spatial);
        }
    char name[160];
    std::snprintf(name, sizeof name, "global_avg_pool_ndhwc n=%d sp=%d c=%d stride=%d col=%d off=%d blk=%u", n, spatial, c, rowStride, colOffset,
                  inOffset, block);
    // float accumulation over up to spatial/8 terms per thread plus a short tree: relative error
    // grows like sqrt(terms) * 6e-8; 1e-5 of the mean |x| leaves a wide margin for 110k voxels.
    compare(name, got, want, 1e-5, scale, &untouched);
}

// ---------------------------------------------------------------- shortcut A
void checkShortcut(int n, int d, int h, int w, int cin, int cout, int stride, int outOffset, unsigned gridOverride = 0) {
    int od = (d - 1) / stride + 1, oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
    auto in = randn((size_t)n * d * h * w * cin);
    Dev din(in.size()), dout((size_t)n * od * oh * ow * cout + outOffset);
    upload(din.p, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    launch(fShortcut, gridOverride ? gridOverride : gridFor((long long)n * od * oh * ow * cout),
           {dout.p + 4ull * outOffset, din.p, n, d, h, w, cin, od, oh, ow, cout, stride});
    auto got = download(dout.p + 4ull * outOffset, (size_t)n * od * oh * ow * cout);
    std::vector<double> want(got.size());
    for (int i = 0; i < n; ++i)
        for (int z = 0; z < od; ++z)
            for (int y = 0; y < oh; ++y)
                for (int x = 0; x < ow; ++x)
                    for (int ch = 0; ch < cout; ++ch)
                        want[((((size_t)i * od + z) * oh + y) * ow + x) * cout + ch] =
                            ch < cin ? in[((((size_t)i * d + z * stride) * h + y * stride) * w + x * stride) * cin + ch] : 0.0;
    char name[160];
    std::snprintf(name, sizeof name, "shortcut_a_ndhwc n=%d %dx%dx%d %d->%d s%d off=%d%s", n, d, h, w, cin, cout, stride, outOffset,
                  gridOverride ? " 64-bit" : "");
    compare(name, got, want, -1, 1);
}

// ---------------------------------------------------------------- bias + activation
void checkBiasAct(int rows, int cols, int relu, int offset, unsigned gridOverride = 0) {
    auto x = randn((size_t)rows * cols), b = randn(cols);
    x[0] = NAN;
    Dev dx(x.size() + offset), db(b.size() + offset);
    upload(dx.p + 4ull * offset, x.data(), x.size() * 4);
    upload(db.p + 4ull * offset, b.data(), b.size() * 4);
    launch(fBiasAct, gridOverride ? gridOverride : gridFor((long long)rows * cols), {dx.p + 4ull * offset, db.p + 4ull * offset, rows, cols, relu});
    auto got = download(dx.p + 4ull * offset, x.size());
    std::vector<double> want(got.size());
    for (size_t i = 0; i < x.size(); ++i) {
        float v = x[i] + b[i % cols];  // the same single float addition the kernel does
        want[i] = relu && v < 0.0f ? 0.0f : v;
    }
    char name[160];
    std::snprintf(name, sizeof name, "bias_act %dx%d relu=%d off=%d%s", rows, cols, relu, offset, gridOverride ? " 64-bit" : "");
    compare(name, got, want, -1, 1);
}

// ---------------------------------------------------------------- gate softmax mix
void checkGate(int batch, int width, int nexp, std::vector<int> sel, int rowStride, int colOffset, float logitScale) {
    int nsel = (int)sel.size();
    auto logits = randn((size_t)batch * nsel, logitScale), experts = randn((size_t)nexp * batch * width);
    Dev dl(logits.size()), de(experts.size()), ds(sel.size()), dout((size_t)batch * rowStride);
    upload(dl.p, logits.data(), logits.size() * 4);
    upload(de.p, experts.data(), experts.size() * 4);
    upload(ds.p, sel.data(), sel.size() * 4);
    poison(dout.p, dout.n);
    launch(fGate, gridFor((long long)batch * width), {dout.p + 4ull * colOffset, dl.p, de.p, ds.p, batch, width, nsel, rowStride});
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size(), 0.0);
    std::vector<bool> untouched(got.size(), true);
    for (int b = 0; b < batch; ++b) {
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < nsel; ++i) mx = std::max(mx, (double)logits[(size_t)b * nsel + i]);
        for (int i = 0; i < nsel; ++i) sum += std::exp(logits[(size_t)b * nsel + i] - mx);
        for (int j = 0; j < width; ++j) {
            double acc = 0;
            for (int i = 0; i < nsel; ++i)
                acc += std::exp(logits[(size_t)b * nsel + i] - mx) / sum * experts[((size_t)sel[i] * batch + b) * width + j];
            size_t o = (size_t)b * rowStride + colOffset + j;
            want[o] = acc;
            untouched[o] = false;
        }
    }
    char name[160];
    std::snprintf(name, sizeof name, "gate_softmax_mix b=%d w=%d nsel=%d stride=%d col=%d scale=%g", batch, width, nsel, rowStride, colOffset,
                  logitScale);
    // float expf (<= 2 ulp), one division and nsel float products/sums against float64: 1e-5 of
    // the experts' scale (about 1) is 100x that bound.
    compare(name, got, want, 1e-5, 1.0, &untouched);
}

// ---------------------------------------------------------------- sigmoid
void checkSigmoid(int n) {
    auto x = randn(n, 8.0f);
    const float extremes[] = {0.0f, -0.0f, 88.0f, -88.0f, 104.0f, -104.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0] && i < x.size(); ++i) x[i] = extremes[i];
    Dev dx(x.size()), dout(x.size());
    upload(dx.p, x.data(), x.size() * 4);
    poison(dout.p, dout.n);
    launch(fSigmoid, gridFor(n), {dout.p, dx.p, n});
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size());
    for (int i = 0; i < n; ++i) want[i] = 1.0 / (1.0 + std::exp(-(double)x[i]));
    // expf within 2 ulp, then one add and one divide: 1e-6 absolute on a value in [0, 1].
    compare("sigmoid n=" + std::to_string(n) + " (incl. +-inf, 1e30, NaN)", got, want, 1e-6, 1.0);
}

#ifndef RMTL_EMULATE
// ---------------------------------------------------------------- timing at model shapes
struct Timer {
    CUevent a, b;
    Timer() { ck(p_cuEventCreate(&a, 0), "cuEventCreate"); ck(p_cuEventCreate(&b, 0), "cuEventCreate"); }
};

double timeKernel(CUfunction f, unsigned grid, std::vector<Arg> args) {
    std::vector<void*> ptrs;
    for (auto& a : args) ptrs.push_back(a.cell);
    Timer t;
    for (int i = 0; i < 10; ++i) ck(p_cuLaunchKernel(f, grid, 1, 1, kBlock, 1, 1, 0, nullptr, ptrs.data(), nullptr), "warm-up");
    std::vector<float> ms;
    for (int r = 0; r < 50; ++r) {
        ck(p_cuEventRecord(t.a, nullptr), "record");
        ck(p_cuLaunchKernel(f, grid, 1, 1, kBlock, 1, 1, 0, nullptr, ptrs.data(), nullptr), "launch");
        ck(p_cuEventRecord(t.b, nullptr), "record");
        ck(p_cuEventSynchronize(t.b), "sync");
        float v;
        ck(p_cuEventElapsedTime(&v, t.a, t.b), "elapsed");
        ms.push_back(v);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

void timing(int cases) {
    const int n = 3 * cases;  // three phases per case through one backbone ("batch" fusion)
    std::printf("\n-- timing, R18-3P-96 shapes, %d case(s) = %d volumes (median of 50, CUDA events) --\n", cases, n);
    struct Row { std::string name; double ms, mb; };
    std::vector<Row> rows;
    {
        Dev in((size_t)n * 96 * 96 * 96), out((size_t)n * 96 * 96 * 96 * 8);
        auto r = randn(in.n); upload(in.p, r.data(), r.size() * 4);
        double ms = timeKernel(fLayout, gridFor((long long)n * 96 * 96 * 96), {out.p, in.p, n, 1, 96 * 96 * 96, 8});
        rows.push_back({"ncdhw_to_ndhwc c=1 -> cpad=8, 96^3", ms, (in.n + out.n) * 4e-6});
    }
    {
        Dev in((size_t)n * 48 * 48 * 48 * 64), out((size_t)n * 24 * 24 * 24 * 64);
        auto r = randn(in.n); upload(in.p, r.data(), r.size() * 4);
        double ms = timeKernel(fMaxpool, gridFor((long long)out.n / 4), {out.p, in.p, n, 48, 48, 48, 64, 24, 24, 24, 3, 2, 1});
        rows.push_back({"maxpool3d_ndhwc 48^3x64 -> 24^3, k3 s2 p1", ms, (in.n + out.n) * 4e-6});
    }
    {
        Dev in((size_t)n * 27 * 512), out((size_t)n * 512);
        auto r = randn(in.n); upload(in.p, r.data(), r.size() * 4);
        double ms = timeKernel(fGap, gridFor((long long)n * 16 * kBlock), {out.p, in.p, n, 27, 512, 512});
        rows.push_back({"global_avg_pool_ndhwc 3^3x512", ms, (in.n + out.n) * 4e-6});
    }
    {
        Dev in((size_t)n * 24 * 24 * 24 * 64), out((size_t)n * 12 * 12 * 12 * 128);
        auto r = randn(in.n); upload(in.p, r.data(), r.size() * 4);
        double ms = timeKernel(fShortcut, gridFor((long long)out.n / 4), {out.p, in.p, n, 24, 24, 24, 64, 12, 12, 12, 128, 2});
        rows.push_back({"shortcut_a_ndhwc 24^3x64 -> 12^3x128 s2", ms, (out.n + out.n / 8) * 4e-6});
    }
    {
        Dev x((size_t)cases * 256), b(256);
        auto r = randn(x.n); upload(x.p, r.data(), r.size() * 4); upload(b.p, r.data(), 256 * 4);
        double ms = timeKernel(fBiasAct, gridFor((long long)x.n / 4), {x.p, b.p, cases, 256, 1});
        rows.push_back({"bias_act cases x 256", ms, 2 * x.n * 4e-6});
    }
    {
        Dev l((size_t)cases * 8), e((size_t)8 * cases * 128), s(8), out((size_t)cases * 128);
        std::vector<int> sel = {0, 1, 2, 3, 4, 5, 6, 7};
        auto r = randn(e.n); upload(e.p, r.data(), r.size() * 4); upload(l.p, r.data(), l.n * 4); upload(s.p, sel.data(), 32);
        double ms = timeKernel(fGate, gridFor((long long)cases * 128 / 4), {out.p, l.p, e.p, s.p, cases, 128, 8, 128});
        rows.push_back({"gate_softmax_mix 8 experts x 128", ms, (e.n + out.n) * 4e-6});
    }
    {
        Dev x((size_t)cases * 3), out((size_t)cases * 3);
        auto r = randn(x.n); upload(x.p, r.data(), r.size() * 4);
        double ms = timeKernel(fSigmoid, gridFor((long long)x.n), {out.p, x.p, cases * 3});
        rows.push_back({"sigmoid cases x 3", ms, 2 * x.n * 4e-6});
    }
    for (auto& r : rows) {
        std::printf("%-45s %9.4f ms  %9.2f MB  %8.1f GB/s\n", r.name.c_str(), r.ms, r.mb, r.mb / r.ms);
        char buf[200];
        std::snprintf(buf, sizeof buf, "median %.4f ms, %.2f MB, %.1f GB/s", r.ms, r.mb, r.mb / r.ms);
        report("time cases=" + std::to_string(cases) + " " + r.name, true, buf);
    }
}

#endif

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: kernel_check renal_mtl.fatbin [--json out.json]   (emulated build: any path)");
    std::string jsonPath;
    for (int i = 2; i + 1 < argc; ++i) if (std::string(argv[i]) == "--json") jsonPath = argv[i + 1];
    std::vector<char> image;
#ifndef RMTL_EMULATE
    std::ifstream f(argv[1], std::ios::binary);
    if (!f) die(std::string(argv[1]) + ": cannot open");
    image.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
#endif

    loadDriver();
    ck(p_cuInit(0), "cuInit");
    CUdevice dev;
    ck(p_cuDeviceGet(&dev, 0), "cuDeviceGet");
    char devName[256];
    ck(p_cuDeviceGetName(devName, sizeof devName, dev), "cuDeviceGetName");
    int major, minor, driver;
    ck(p_cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "attr");
    ck(p_cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "attr");
    ck(p_cuDeviceGetAttribute(&gSMs, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "attr");
    ck(p_cuDriverGetVersion(&driver), "cuDriverGetVersion");
    CUcontext ctx;
    ck(p_cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
    ck(p_cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    std::printf("device: %s, sm_%d%d, %d SMs, driver API %d\n", devName, major, minor, gSMs, driver);

    CUmodule mod;
    ck(p_cuModuleLoadData(&mod, image.data()), "cuModuleLoadData(renal_mtl.fatbin)");
    struct { const char* name; CUfunction* f; } kernels[] = {
        {"ncdhw_to_ndhwc", &fLayout}, {"maxpool3d_ndhwc", &fMaxpool}, {"global_avg_pool_ndhwc", &fGap},
        {"shortcut_a_ndhwc", &fShortcut}, {"bias_act", &fBiasAct}, {"gate_softmax_mix", &fGate}, {"sigmoid", &fSigmoid}};
    std::ostringstream res;
    std::printf("\n%-24s %5s %6s %8s %8s %7s\n", "kernel", "regs", "smem", "local", "binary", "maxthr");
    for (auto& k : kernels) {
        ck(p_cuModuleGetFunction(k.f, mod, k.name), k.name);
        int regs, smem, local, bin, maxThr;
        p_cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, *k.f);
        p_cuFuncGetAttribute(&smem, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, *k.f);
        p_cuFuncGetAttribute(&local, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, *k.f);
        p_cuFuncGetAttribute(&bin, CU_FUNC_ATTRIBUTE_BINARY_VERSION, *k.f);
        p_cuFuncGetAttribute(&maxThr, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, *k.f);
        std::printf("%-24s %5d %6d %8d %8d %7d\n", k.name, regs, smem, local, bin, maxThr);
        char buf[160];
        std::snprintf(buf, sizeof buf, "regs %d, smem %d B, local %d B, binary sm_%d, max threads %d", regs, smem, local, bin, maxThr);
        report(std::string("load ") + k.name, local == 0 && maxThr >= (int)kBlock, buf);
    }
    std::printf("\n");

    // 64-bit index path: a grid of more than 2^31 threads makes rmtl_fits32 false on any data size.
    const unsigned huge = (1u << 23) + 1;

    checkLayout(2, 1, 37 * 41 * 43, 8, 0);
    checkLayout(2, 3, 37 * 41 * 43, 8, 0);
    checkLayout(1, 3, 1000, 3, 0);          // cpad % 4 != 0: scalar path
    checkLayout(2, 1, 5001, 8, 1);          // misaligned out: scalar path
    checkLayout(2, 40, 1234, 48, 0);        // tiled path with channel and voxel tails
    checkLayout(1, 64, 4096, 64, 0, 128);   // tiled path, 4 warps per block
    checkLayout(2, 3, 777, 8, 0, kBlock, huge);
    checkLayout(1, 33, 100, 40, 0, kBlock, huge);

    checkMaxpool(3, 24, 24, 24, 64, 3, 2, 1, 0, false);   // the stem's pool at a quarter size
    checkMaxpool(2, 7, 9, 11, 64, 3, 2, 1, 0, true);      // odd sizes, NaN propagation
    checkMaxpool(2, 7, 9, 11, 6, 3, 2, 1, 0, false);      // c % 4 != 0: scalar path
    checkMaxpool(1, 8, 8, 8, 16, 2, 2, 0, 1, false);      // misaligned in: scalar path
    checkMaxpool(1, 5, 6, 7, 12, 3, 1, 1, 0, true);       // stride 1
    checkMaxpool(1, 5, 6, 7, 8, 3, 2, 1, 0, false, huge);

    checkGap(3, 27, 512, 512, 0, 0);                      // R18 end of backbone
    checkGap(2, 27, 512, 1536, 512, 0);                   // 'separate' fusion: phase 1's slice
    checkGap(2, 48 * 48 * 48, 64, 64, 0, 0);              // long reduction
    checkGap(3, 100, 6, 7, 1, 0);                         // c % 4 != 0: scalar, 8 lanes per row
    checkGap(2, 50, 8, 8, 0, 0);                          // 2 float4 per row: 16 row groups per warp
    checkGap(2, 50, 100, 100, 0, 1);                      // misaligned in: scalar path, chunk tail
    checkGap(2, 1000, 200, 200, 0, 0, 96);                // 3 warps per block

    checkShortcut(2, 12, 12, 12, 64, 128, 2, 0);
    checkShortcut(2, 7, 9, 11, 6, 10, 2, 0);              // scalar path, odd sizes
    checkShortcut(1, 6, 6, 6, 32, 64, 1, 1);              // misaligned out, stride 1
    checkShortcut(1, 5, 5, 5, 8, 16, 2, 0, huge);

    checkBiasAct(8, 256, 1, 0);
    checkBiasAct(8, 256, 0, 0);
    checkBiasAct(5, 3, 1, 0);                              // scalar path
    checkBiasAct(3, 64, 1, 1);                             // misaligned
    checkBiasAct(7, 20, 1, 0, huge);

    checkGate(8, 128, 8, {2, 3, 6, 7}, 128, 0, 1.0f);
    checkGate(8, 128, 8, {0, 1, 2, 3, 4, 5, 6, 7}, 384, 128, 1.0f);  // shared gate into a slice
    checkGate(3, 6, 4, {3, 0}, 6, 0, 1.0f);                            // scalar path
    checkGate(2, 64, 3, {1}, 64, 0, 1.0f);                             // one expert: weight 1
    checkGate(4, 32, 4, {0, 1, 2, 3}, 32, 0, 300.0f);                  // huge logits: max-subtraction
    checkSigmoid(1000);

#ifndef RMTL_EMULATE
    timing(1);
    timing(8);
#endif

    std::printf("\n%d checks, %d failed\n", gChecks, gFailures);
    if (!jsonPath.empty()) {
        std::ofstream o(jsonPath);
        o << "{\n  \"device\": \"" << devName << "\",\n  \"sm\": " << major * 10 + minor << ",\n  \"driver_api\": " << driver
          << ",\n  \"failed\": " << gFailures << ",\n  \"checks\": [\n" << gJson.str() << "\n  ]\n}\n";
    }
    return gFailures == 0 ? 0 : 1;
}
