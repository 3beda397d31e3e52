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
#include "../../main/cuda/copy.cu"
#include "../../main/cuda/elementwise.cu"
#include "../../main/cuda/norm.cu"
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
#include <memory>
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
        {"copy_nd", [](void** a) { copy_nd(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<long long>(a, 2),
                                           argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7),
                                           argAt<long long>(a, 8), argAt<long long>(a, 9), argAt<long long>(a, 10), argAt<long long>(a, 11), argAt<long long>(a, 12),
                                           argAt<int>(a, 13), argAt<int>(a, 14), argAt<int>(a, 15), argAt<int>(a, 16), argAt<int>(a, 17),
                                           argAt<long long>(a, 18), argAt<long long>(a, 19), argAt<long long>(a, 20), argAt<long long>(a, 21), argAt<long long>(a, 22)); }},
        {"affine_act", [](void** a) { affine_act(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<const float*>(a, 2), argAt<const float*>(a, 3), argAt<long long>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<float>(a, 7)); }},
        {"add_act", [](void** a) { add_act(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<const float*>(a, 2), argAt<long long>(a, 3), argAt<int>(a, 4), argAt<float>(a, 5)); }},
        {"instance_norm_ndhwc", [](void** a) { instance_norm_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<const float*>(a, 2), argAt<const float*>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<float>(a, 7), argAt<int>(a, 8), argAt<float>(a, 9)); }},
        {"maxpool3d_ndhwc", [](void** a) { maxpool3d_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7), argAt<int>(a, 8), argAt<int>(a, 9), argAt<int>(a, 10), argAt<int>(a, 11), argAt<int>(a, 12), argAt<int>(a, 13), argAt<int>(a, 14), argAt<int>(a, 15), argAt<int>(a, 16), argAt<int>(a, 17), argAt<int>(a, 18)); }},
        {"global_avg_pool_ndhwc", [](void** a) { global_avg_pool_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5)); }},
        {"shortcut_a_ndhwc", [](void** a) { shortcut_a_ndhwc(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<int>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5), argAt<int>(a, 6), argAt<int>(a, 7), argAt<int>(a, 8), argAt<int>(a, 9), argAt<int>(a, 10), argAt<int>(a, 11)); }},
        {"gate_mix", [](void** a) { gate_mix(argAt<float*>(a, 0), argAt<const float*>(a, 1), argAt<const float* const*>(a, 2), argAt<int>(a, 3), argAt<int>(a, 4), argAt<int>(a, 5)); }},
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
    // One OS thread per CUDA thread of a block, reused for every block: the blocks run one after
    // another, separated by a barrier (a function-local static, the emulated shared memory, is thus
    // never used by two blocks at once). Creating the threads once per launch rather than once per
    // block keeps the 4096-block launches of the 64-bit checks cheap.
    const unsigned blocks = std::min(gx, kEmulatedBlocks);
    std::barrier<> block(bx);
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    for (unsigned w = 0; w < bx / 32; ++w) { warps.emplace_back(new std::barrier<>(32)); rmtl_warp_barrier[w] = warps.back().get(); }
    rmtl_block_barrier = &block;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < bx; ++t)
        threads.emplace_back([&, t] {
            threadIdx.x = t;
            for (unsigned b = 0; b < blocks; ++b) {
                blockIdx.x = b;
                kernel(args);
                block.arrive_and_wait();
            }
        });
    for (auto& t : threads) t.join();
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

struct I64 { long long v; };  // a `long long` kernel argument (tagged: CUdeviceptr is an integer too)
struct F32 { float v; };      // a `float` kernel argument

struct Arg {  // one cuLaunchKernel argument: a host cell holding the value
    unsigned char cell[8];
    Arg(CUdeviceptr p) { std::memcpy(cell, &p, 8); }
    Arg(int v) { std::memcpy(cell, &v, 4); }
    Arg(I64 v) { std::memcpy(cell, &v.v, 8); }
    Arg(F32 v) { std::memcpy(cell, &v.v, 4); }
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

CUfunction fCopy, fAffine, fAdd, fNorm, fMaxpool, fGap, fShortcut, fGateMix;

// ---------------------------------------------------------------- maxpool
struct Win { int kd, kh, kw, sd, sh, sw, pd, ph, pw; };
Win cubic(int k, int s, int p) { return {k, k, k, s, s, s, p, p, p}; }

void checkMaxpool(int n, int d, int h, int w, int c, Win g, int inOffset, bool nans, unsigned gridOverride = 0) {
    int od = (d + 2 * g.pd - g.kd) / g.sd + 1, oh = (h + 2 * g.ph - g.kh) / g.sh + 1, ow = (w + 2 * g.pw - g.kw) / g.sw + 1;
    auto in = randn((size_t)n * d * h * w * c);
    if (nans) for (size_t i = 0; i < in.size(); i += 997) in[i] = NAN;
    Dev din(in.size() + inOffset), dout((size_t)n * od * oh * ow * c);
    upload(din.p + 4ull * inOffset, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    launch(fMaxpool, gridOverride ? gridOverride : gridFor((long long)dout.n),
           {dout.p, din.p + 4ull * inOffset, n, d, h, w, c, od, oh, ow, g.kd, g.kh, g.kw, g.sd, g.sh, g.sw, g.pd, g.ph, g.pw});
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size());
    for (int i = 0; i < n; ++i)
        for (int z = 0; z < od; ++z)
            for (int y = 0; y < oh; ++y)
                for (int x = 0; x < ow; ++x)
                    for (int ch = 0; ch < c; ++ch) {
                        double m = -INFINITY;
                        for (int zz = z * g.sd - g.pd; zz < z * g.sd - g.pd + g.kd; ++zz)
                            for (int yy = y * g.sh - g.ph; yy < y * g.sh - g.ph + g.kh; ++yy)
                                for (int xx = x * g.sw - g.pw; xx < x * g.sw - g.pw + g.kw; ++xx) {
                                    if (zz < 0 || yy < 0 || xx < 0 || zz >= d || yy >= h || xx >= w) continue;
                                    double v = in[((((size_t)i * d + zz) * h + yy) * w + xx) * c + ch];
                                    if (std::isnan(v) || v > m) m = v;
                                    if (std::isnan(m)) break;
                                }
                        want[((((size_t)i * od + z) * oh + y) * ow + x) * c + ch] = m;
                    }
    char name[160];
    std::snprintf(name, sizeof name, "maxpool3d_ndhwc n=%d %dx%dx%d c=%d k%d%d%d s%d%d%d p%d%d%d off=%d%s%s", n, d, h, w, c, g.kd, g.kh, g.kw,
                  g.sd, g.sh, g.sw, g.pd, g.ph, g.pw, inOffset, nans ? " NaN" : "", gridOverride ? " 64-bit" : "");
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

// ---------------------------------------------------------------- copy_nd
struct Axes { int d[5]; long long s[5]; };

// Dense row-major strides of dims d (rank 5, leading dims 1 for a lower rank).
Axes dense(std::initializer_list<int> dims) {
    Axes a{};
    int k = 5 - (int)dims.size();
    for (int q = 0; q < k; ++q) a.d[q] = 1;
    for (int v : dims) a.d[k++] = v;
    long long s = 1;
    for (int q = 4; q >= 0; --q) { a.s[q] = s; s *= a.d[q]; }
    return a;
}
long long offsetOf(long long f, const Axes& a) {
    long long off = 0;
    for (int q = 4; q >= 0; --q) { off += (f % a.d[q]) * a.s[q]; f /= a.d[q]; }
    return off;
}

// One copy_nd launch: `in` of inFloats floats at inOffset, out buffer of outFloats at outOffset; every
// output cell the copy does not write must keep the poison.
void checkCopy(const std::string& what, const Axes& o, const Axes& i, size_t outFloats, size_t inFloats, int outOffset, int inOffset,
               unsigned block = kBlock, unsigned gridOverride = 0) {
    long long count = 1;
    for (int q = 0; q < 5; ++q) count *= o.d[q];
    auto in = randn(inFloats);
    if (!in.empty()) in[0] = -0.0f;
    if (in.size() > 3) in[3] = NAN;
    Dev din(inFloats + inOffset), dout(outFloats + outOffset);
    upload(din.p + 4ull * inOffset, in.data(), in.size() * 4);
    poison(dout.p, dout.n);
    launch(fCopy, gridOverride ? gridOverride : gridFor(count),
           {dout.p + 4ull * outOffset, din.p + 4ull * inOffset, I64{count}, o.d[0], o.d[1], o.d[2], o.d[3], o.d[4],
            I64{o.s[0]}, I64{o.s[1]}, I64{o.s[2]}, I64{o.s[3]}, I64{o.s[4]}, i.d[0], i.d[1], i.d[2], i.d[3], i.d[4],
            I64{i.s[0]}, I64{i.s[1]}, I64{i.s[2]}, I64{i.s[3]}, I64{i.s[4]}}, block);
    auto got = download(dout.p + 4ull * outOffset, outFloats);
    std::vector<double> want(got.size(), 0.0);
    std::vector<bool> untouched(got.size(), true);
    for (long long f = 0; f < count; ++f) {
        long long oo = offsetOf(f, o), ii = offsetOf(f, i);
        want[oo] = in[ii];
        untouched[oo] = false;
    }
    char name[200];
    std::snprintf(name, sizeof name, "copy_nd %s count=%lld off=%d/%d blk=%u%s", what.c_str(), count, outOffset, inOffset, block,
                  gridOverride ? " 64-bit" : "");
    compare(name, got, want, -1, 1, &untouched);  // data movement: bit-exact, -0 and NaN included
}

// NDHWC strides of a tensor (n, c, d, h, w) in logical (NCDHW) axis order.
Axes ndhwcView(int n, int c, int d, int h, int w) {
    Axes a{{n, c, d, h, w}, {}};
    a.s[1] = 1;
    a.s[4] = c;
    a.s[3] = (long long)w * c;
    a.s[2] = (long long)h * w * c;
    a.s[0] = (long long)d * h * w * c;
    return a;
}

void checkCopies(unsigned huge) {
    // Layout changes: NCDHW -> NDHWC (out strided, in dense) and back, odd sizes.
    checkCopy("ncdhw->ndhwc 2x5x7x6x5", ndhwcView(2, 5, 7, 6, 5), dense({2, 5, 7, 6, 5}), 2 * 5 * 210, 2 * 5 * 210, 0, 0);
    checkCopy("ndhwc->ncdhw 2x32x5x6x7", dense({2, 32, 5, 6, 7}), ndhwcView(2, 32, 5, 6, 7), 2 * 32 * 210, 2 * 32 * 210, 0, 0);
    checkCopy("ncdhw->ndhwc 1x1x9x8x7 (c=1)", ndhwcView(1, 1, 9, 8, 7), dense({1, 1, 9, 8, 7}), 504, 504, 0, 0);
    // Slices: sample 1 of 3 (pointer offset; dense: one merged axis, float4), channels [4, 10) of 12.
    checkCopy("slice n=1 of 3 (dense, float4)", dense({1, 100, 12}), dense({1, 100, 12}), 1200, 3600, 0, 1200);
    {
        Axes in{{1, 1, 3, 100, 6}, {0, 0, 1200, 12, 1}};  // (n, s, 6) out of (n, s, 12), the pointer at channel 4
        checkCopy("slice channels 4..9 of 12 (scalar)", dense({3, 100, 6}), in, 1800, 3600 - 4, 0, 4);
    }
    // Concat of 3 NDHWC inputs (8, 4, 13 channels) into 25: each input alone, so the other slices keep the poison.
    {
        const int n = 2, sp = 7 * 5 * 3, C = 25, cs[3] = {8, 4, 13}, at[3] = {0, 8, 12};
        for (int q = 0; q < 3; ++q) {
            Axes o{{1, 1, n, sp, cs[q]}, {0, 0, (long long)sp * C, C, 1}};
            checkCopy("concat input " + std::to_string(q) + " (" + std::to_string(cs[q]) + " of 25 ch)", o, dense({n, sp, cs[q]}),
                      (size_t)n * sp * C - at[q], (size_t)n * sp * cs[q], at[q], 0);
        }
    }
    {
        // Concat slice on the float4 path: 16 channels at channel 32 of 48.
        const int n = 3, sp = 9 * 4 * 5, C = 48;
        Axes o{{1, 1, n, sp, 16}, {0, 0, (long long)sp * C, C, 1}};
        checkCopy("concat 16 ch at 32 of 48 (float4)", o, dense({n, sp, 16}), (size_t)n * sp * C - 32, (size_t)n * sp * 16, 32, 0);
    }
    // Reshape across layouts: NDHWC (n, c, d, h, w) flattened in PyTorch's order to (n, c*d*h*w).
    checkCopy("flatten ndhwc->(n, c*dhw)", dense({2, 6 * 3 * 4 * 5}), ndhwcView(2, 6, 3, 4, 5), 720, 720, 0, 0);
    checkCopy("unflatten (n, c*dhw)->ndhwc", ndhwcView(3, 5, 2, 3, 7), dense({3, 5 * 2 * 3 * 7}), 630, 630, 0, 0);
    // Dense copies: odd count (scalar), misaligned out (scalar), same flat data under different dims.
    checkCopy("dense 1001 floats", dense({7, 11, 13}), dense({7, 11, 13}), 1001, 1001, 0, 0);
    checkCopy("dense misaligned out", dense({4, 64, 8}), dense({4, 64, 8}), 2048, 2048, 1, 0);
    checkCopy("reshape (6, 40) <- (4, 5, 12)", dense({6, 40}), dense({4, 5, 12}), 240, 240, 0, 0);
    checkCopy("one element", dense({1}), dense({1}), 1, 1, 0, 0);
    checkCopy("ndhwc->ncdhw 3 warps", dense({2, 12, 3, 4, 5}), ndhwcView(2, 12, 3, 4, 5), 1440, 1440, 0, 0, 96);
    {
        const int n = 2, sp = 30, C = 20;
        Axes o{{1, 1, n, sp, 8}, {0, 0, (long long)sp * C, C, 1}};
        checkCopy("concat 8 ch at 12 of 20 (float4)", o, dense({n, sp, 8}), (size_t)n * sp * C - 12, (size_t)n * sp * 8, 12, 0, kBlock, huge);
    }
    checkCopy("flatten ndhwc->(n, c*dhw)", dense({2, 4 * 3 * 3 * 3}), ndhwcView(2, 4, 3, 3, 3), 216, 216, 0, 0, kBlock, huge);
}

// ---------------------------------------------------------------- activations (rmtl_act's CPU reference)
double actRef(double x, int act, float slope) {
    switch (act) {
        case 0: return x;
        case 1: return x <= 0 ? 0.0 : x;
        case 2: return x >= 0 ? x : (double)slope * x;
        case 3: return 1.0 / (1.0 + std::exp(-x));
        case 4: return std::tanh(x);
        default: return NAN;
    }
}
const char* actName(int act) {
    static const char* n[] = {"none", "relu", "leaky", "sigmoid", "tanh", "bad"};
    return n[std::min(act, 5)];
}
// Inputs with the cases each activation must get right: NaN, -0, +-inf, large |x| for sigmoid/tanh.
void spice(std::vector<float>& x) {
    const float special[] = {NAN, -0.0f, 0.0f, INFINITY, -INFINITY, 100.0f, -100.0f, 1e30f, -1e30f, 20.0f, -20.0f};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i)
        if (i * 37 < x.size()) x[i * 37] = special[i];
}
// Tolerance of an activation against float64: none/relu/leaky are one float rounding of the same
// value, so the reference rounds to float and the check is bit-exact; sigmoid (expf within 2 ulp, an
// add, a divide) and tanhf (CUDA: 2 ulp) are within 1e-6 absolute of a value in [-1, 1].
double actTol(int act) { return act == 3 || act == 4 ? 1e-6 : -1.0; }

// ---------------------------------------------------------------- affine_act
void checkAffine(long long rows, int cols, bool hasScale, bool hasShift, int act, float slope, bool inPlace, int offset,
                 unsigned block = kBlock, unsigned gridOverride = 0) {
    size_t total = (size_t)rows * cols;
    auto x = randn(total, 3.0f), sc = randn(cols), sh = randn(cols);
    spice(x);
    Dev dx(total + offset), dout(total + offset), ds(cols + offset), db(cols + offset);
    upload(dx.p + 4ull * offset, x.data(), total * 4);
    upload(ds.p + 4ull * offset, sc.data(), cols * 4);
    upload(db.p + 4ull * offset, sh.data(), cols * 4);
    CUdeviceptr out = inPlace ? dx.p + 4ull * offset : dout.p + 4ull * offset;
    if (!inPlace) poison(dout.p, dout.n);
    launch(fAffine, gridOverride ? gridOverride : gridFor((long long)total),
           {out, dx.p + 4ull * offset, hasScale ? ds.p + 4ull * offset : CUdeviceptr(0), hasShift ? db.p + 4ull * offset : CUdeviceptr(0),
            I64{rows}, cols, act, F32{slope}}, block);
    auto got = download(out, total);
    std::vector<double> want(total);
    for (size_t i = 0; i < total; ++i) {
        const float v = x[i], s = sc[i % cols], b = sh[i % cols];
        // The kernel's float affine step (one fmaf with both, else one mul or add), then the activation.
        const float y = hasScale && hasShift ? std::fma(v, s, b) : hasScale ? v * s : hasShift ? v + b : v;
        const double a = actRef(y, act, slope);
        want[i] = actTol(act) < 0 ? (double)(float)a : a;
    }
    char name[200];
    std::snprintf(name, sizeof name, "affine_act %lldx%d scale=%d shift=%d %s%s off=%d blk=%u%s", rows, cols, hasScale, hasShift, actName(act),
                  inPlace ? " in-place" : "", offset, block, gridOverride ? " 64-bit" : "");
    compare(name, got, want, actTol(act), 1.0);
}

// ---------------------------------------------------------------- add_act
void checkAdd(long long n, int act, float slope, int alias, int offset, unsigned gridOverride = 0) {
    auto a = randn(n, 2.0f), b = randn(n, 2.0f);
    spice(a);
    Dev da(n + offset), db(n + offset), dout(n + offset);
    upload(da.p + 4ull * offset, a.data(), n * 4);
    upload(db.p + 4ull * offset, b.data(), n * 4);
    poison(dout.p, dout.n);
    CUdeviceptr out = alias == 1 ? da.p + 4ull * offset : alias == 2 ? db.p + 4ull * offset : dout.p + 4ull * offset;
    launch(fAdd, gridOverride ? gridOverride : gridFor(n), {out, da.p + 4ull * offset, db.p + 4ull * offset, I64{n}, act, F32{slope}});
    auto got = download(out, n);
    std::vector<double> want(n);
    for (long long i = 0; i < n; ++i) {
        const double r = actRef(a[i] + b[i], act, slope);  // the kernel's float add, then the activation
        want[i] = actTol(act) < 0 ? (double)(float)r : r;
    }
    char name[200];
    std::snprintf(name, sizeof name, "add_act n=%lld %s%s off=%d%s", n, actName(act), alias == 1 ? " out=a" : alias == 2 ? " out=b" : "", offset,
                  gridOverride ? " 64-bit" : "");
    compare(name, got, want, actTol(act), 1.0);
}

// ---------------------------------------------------------------- instance_norm_ndhwc
void checkNorm(int n, int spatial, int c, bool affine, int act, float slope, float mean, float sd, int offset, bool specials,
               unsigned block = kBlock, unsigned gridOverride = 0) {
    const float eps = 1e-5f;
    size_t total = (size_t)n * spatial * c;
    auto x = randn(total, sd), sc = randn(c), sh = randn(c);
    for (auto& v : x) v += mean;
    if (specials) {
        for (int s = 0; s < spatial; ++s) x[(size_t)s * c] = 0.75f;               // sample 0, channel 0: constant (var 0)
        if (c > 1) x[(size_t)(spatial / 2) * c + 1] = NAN;                        // sample 0, channel 1: one NaN
        if (n > 1 && c > 2) x[((size_t)spatial + spatial / 3) * c + 2] = 1e6f;  // sample 1, channel 2: an outlier
    }
    Dev dx(total + offset), dout(total + offset), ds(c), db(c);
    upload(dx.p + 4ull * offset, x.data(), total * 4);
    upload(ds.p, sc.data(), c * 4);
    upload(db.p, sh.data(), c * 4);
    poison(dout.p, dout.n);
    long long work = (long long)n * ((c + 7) / 8) * kBlock;
    launch(fNorm, gridOverride ? gridOverride : gridFor(work),
           {dout.p + 4ull * offset, dx.p + 4ull * offset, affine ? ds.p : CUdeviceptr(0), affine ? db.p : CUdeviceptr(0), n, spatial, c,
            F32{eps}, act, F32{slope}}, block);
    auto got = download(dout.p + 4ull * offset, total);
    std::vector<double> want(total);
    double scale = 1e-30;
    for (int i = 0; i < n; ++i)
        for (int ch = 0; ch < c; ++ch) {  // PyTorch's definition in float64, two passes (ReferenceNorm.instanceNorm3d)
            double sum = 0, sq = 0;
            for (int s = 0; s < spatial; ++s) sum += x[((size_t)i * spatial + s) * c + ch];
            const double mu = sum / spatial;
            for (int s = 0; s < spatial; ++s) { double d = x[((size_t)i * spatial + s) * c + ch] - mu; sq += d * d; }
            const double sdv = std::sqrt(sq / spatial + (double)eps);
            for (int s = 0; s < spatial; ++s) {
                size_t at = ((size_t)i * spatial + s) * c + ch;
                double y = (x[at] - mu) / sdv * (affine ? sc[ch] : 1.0) + (affine ? sh[ch] : 0.0);
                want[at] = actRef(y, act, slope);
                if (!std::isnan(want[at])) scale = std::max(scale, std::fabs(want[at]));
            }
        }
    char name[200];
    std::snprintf(name, sizeof name, "instance_norm_ndhwc n=%d sp=%d c=%d affine=%d %s mean=%g sd=%g off=%d blk=%u%s%s", n, spatial, c, affine,
                  actName(act), mean, sd, offset, block, specials ? " const/NaN/outlier" : "", gridOverride ? " 64-bit" : "");
    // Statistics in double (exact to ~1e-15), then per element (x - hi) - lo, one multiply-add and the
    // activation in float: about 3 float roundings of |y|, i.e. <= 3.6e-7 of the largest |y|; 1e-6 of
    // it (8 ulp at the top of the range) leaves a margin, and sigmoid/tanh's own 2 ulp fit inside.
    compare(name, got, want, 1e-6, scale);
}

// ---------------------------------------------------------------- gate_mix (expert pointer array)
void checkGateMix(int batch, int width, int e, int expertOffset, float logitScale, bool nanLogit) {
    auto logits = randn((size_t)batch * e, logitScale);
    if (nanLogit) logits[(size_t)(batch - 1) * e] = NAN;  // the last case's outputs must all be NaN
    std::vector<std::vector<float>> ex;
    std::vector<std::unique_ptr<Dev>> dex;
    std::vector<CUdeviceptr> ptrs;
    for (int k = 0; k < e; ++k) {
        ex.push_back(randn((size_t)batch * width));
        dex.emplace_back(new Dev((size_t)batch * width + expertOffset));
        CUdeviceptr p = dex.back()->p + 4ull * (k % 2 ? expertOffset : 0);  // odd experts misaligned when expertOffset != 0
        upload(p, ex.back().data(), ex.back().size() * 4);
        ptrs.push_back(p);
    }
    Dev dl(logits.size()), dp((size_t)2 * e), dout((size_t)batch * width);
    upload(dl.p, logits.data(), logits.size() * 4);
    upload(dp.p, ptrs.data(), ptrs.size() * 8);
    poison(dout.p, dout.n);
    launch(fGateMix, gridFor((long long)batch * width), {dout.p, dl.p, dp.p, batch, width, e});
    auto got = download(dout.p, dout.n);
    std::vector<double> want(got.size());
    for (int b = 0; b < batch; ++b) {
        double mx = -INFINITY, sum = 0;
        bool nan = false;
        for (int k = 0; k < e; ++k) { double l = logits[(size_t)b * e + k]; nan |= std::isnan(l); mx = std::max(mx, l); }
        for (int k = 0; k < e; ++k) sum += std::exp(logits[(size_t)b * e + k] - mx);
        for (int j = 0; j < width; ++j) {
            double acc = 0;
            for (int k = 0; k < e; ++k) acc += std::exp(logits[(size_t)b * e + k] - mx) / sum * ex[k][(size_t)b * width + j];
            want[(size_t)b * width + j] = nan ? NAN : acc;
        }
    }
    char name[200];
    std::snprintf(name, sizeof name, "gate_mix b=%d w=%d e=%d expert-off=%d scale=%g%s", batch, width, e, expertOffset, logitScale,
                  nanLogit ? " NaN logit" : "");
    // float expf (<= 2 ulp), one division and e float products/sums against float64: 1e-5 of the
    // experts' scale (about 1) is 100x that bound.
    compare(name, got, want, 1e-5, 1.0);
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
        Dev in((size_t)n * 48 * 48 * 48 * 64), out((size_t)n * 24 * 24 * 24 * 64);
        auto r = randn(in.n); upload(in.p, r.data(), r.size() * 4);
        double ms = timeKernel(fMaxpool, gridFor((long long)out.n / 4), {out.p, in.p, n, 48, 48, 48, 64, 24, 24, 24, 3, 3, 3, 2, 2, 2, 1, 1, 1});
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
    {   // nnU-Net 3d_fullres shapes (patch 128^3, first stage 32 channels), `cases` samples
        const long long vox = 128LL * 128 * 128;
        Dev a((size_t)cases * vox * 32), b((size_t)cases * vox * 32), cat((size_t)cases * vox * 64), sc(32), sh(32);
        auto r = randn(a.n); upload(a.p, r.data(), r.size() * 4); upload(b.p, r.data(), r.size() * 4);
        upload(sc.p, r.data(), 128); upload(sh.p, r.data() + 32, 128);
        double ms = timeKernel(fCopy, gridFor((long long)a.n), {cat.p + 128, a.p, I64{(long long)a.n}, 1, 1, 1, cases * (int)vox, 32,
                               I64{0}, I64{0}, I64{0}, I64{64}, I64{1}, 1, 1, 1, cases * (int)vox, 32, I64{0}, I64{0}, I64{0}, I64{32}, I64{1}});
        rows.push_back({"copy_nd 128^3x32 into ch 32..63 of 64 (concat)", ms, 2 * a.n * 4e-6});
        ms = timeKernel(fCopy, gridFor((long long)a.n), {b.p, a.p, I64{(long long)a.n}, cases, 32, 128, 128, 128,
                        I64{vox * 32}, I64{1}, I64{128 * 128 * 32}, I64{128 * 32}, I64{32}, cases, 32, 128, 128, 128,
                        I64{vox * 32}, I64{vox}, I64{128 * 128}, I64{128}, I64{1}});
        rows.push_back({"copy_nd 32x128^3 ncdhw -> ndhwc", ms, 2 * a.n * 4e-6});
        ms = timeKernel(fAffine, gridFor((long long)a.n / 4), {b.p, a.p, sc.p, sh.p, I64{cases * vox}, 32, 2, F32{0.01f}});
        rows.push_back({"affine_act 128^3x32 scale+shift+leaky", ms, 2 * a.n * 4e-6});
        ms = timeKernel(fAdd, gridFor((long long)a.n / 4), {b.p, a.p, b.p, I64{(long long)a.n}, 2, F32{0.01f}});
        rows.push_back({"add_act 128^3x32 leaky, out = b", ms, 3 * a.n * 4e-6});
        ms = timeKernel(fNorm, gridFor((long long)cases * 4 * kBlock), {b.p, a.p, sc.p, sh.p, cases, (int)vox, 32, F32{1e-5f}, 2, F32{0.01f}});
        rows.push_back({"instance_norm_ndhwc 128^3x32 (2 reads, 1 write)", ms, 3 * a.n * 4e-6});
        Dev a5((size_t)cases * 4 * 4 * 4 * 320), b5(a5.n), sc5(320);
        auto r5 = randn(a5.n); upload(a5.p, r5.data(), r5.size() * 4); upload(sc5.p, r5.data(), 320 * 4);
        ms = timeKernel(fNorm, gridFor((long long)cases * 40 * kBlock), {b5.p, a5.p, sc5.p, sc5.p, cases, 64, 320, F32{1e-5f}, 2, F32{0.01f}});
        rows.push_back({"instance_norm_ndhwc 4^3x320", ms, 3 * a5.n * 4e-6});
    }
    {
        Dev l((size_t)cases * 8), out((size_t)cases * 128), p(16);
        std::vector<std::unique_ptr<Dev>> ex;
        std::vector<CUdeviceptr> ptrs;
        for (int k = 0; k < 8; ++k) { ex.emplace_back(new Dev((size_t)cases * 128)); ptrs.push_back(ex.back()->p); }
        auto r = randn(l.n); upload(l.p, r.data(), r.size() * 4); upload(p.p, ptrs.data(), 64);
        double ms = timeKernel(fGateMix, gridFor((long long)cases * 128 / 4), {out.p, l.p, p.p, cases, 128, 8});
        rows.push_back({"gate_mix 8 experts x 128", ms, (9.0 * cases * 128) * 4e-6});
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

    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per check, also into a pipe or file
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
        {"copy_nd", &fCopy}, {"affine_act", &fAffine}, {"add_act", &fAdd}, {"instance_norm_ndhwc", &fNorm},
        {"maxpool3d_ndhwc", &fMaxpool}, {"global_avg_pool_ndhwc", &fGap}, {"shortcut_a_ndhwc", &fShortcut},
        {"gate_mix", &fGateMix}};
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

    checkCopies(huge);

    for (int act = 0; act <= 4; ++act) checkAffine(37, 64, true, true, act, act == 2 ? 0.01f : 0.0f, false, 0);
    checkAffine(37, 64, false, false, 5, 0.0f, false, 0);                 // unknown code: NaN everywhere
    checkAffine(50, 32, true, false, 2, 0.2f, true, 0);                    // scale only, in place
    checkAffine(50, 32, false, true, 1, 0.0f, true, 0);                    // bias + relu after a GEMM, in place
    checkAffine(1, 5, false, false, 3, 0.0f, false, 0);                    // standalone sigmoid, 5 tasks
    checkAffine(41, 7, true, true, 2, 0.01f, false, 0);                    // cols % 4 != 0: scalar
    checkAffine(30, 16, true, true, 4, 0.0f, false, 1);                    // misaligned: scalar
    checkAffine(33, 12, true, false, 1, 0.0f, false, 0, 96);               // 3 warps
    checkAffine(9, 20, false, true, 3, 0.0f, true, 1, kBlock, huge);

    for (int act = 0; act <= 4; ++act) checkAdd(4099, act, act == 2 ? 0.01f : 0.0f, 0, 0);  // float4 bulk + 3 tail
    checkAdd(1000, 1, 0.0f, 1, 0);                                         // out = a (residual in place)
    checkAdd(1001, 2, 0.01f, 2, 0);                                        // out = b
    checkAdd(777, 1, 0.0f, 0, 1);                                          // misaligned: scalar
    checkAdd(2, 0, 0.0f, 0, 0);                                            // all tail
    checkAdd(1003, 2, 0.01f, 1, 0, huge);

    checkNorm(2, 30 * 30 * 30, 32, true, 2, 0.01f, 0.0f, 1.0f, 0, true);   // nnU-Net stage 1 shape, smaller volume
    checkNorm(1, 5 * 6 * 7, 320, true, 2, 0.01f, 0.5f, 2.0f, 0, false);    // deepest stage: 40 tiles
    checkNorm(2, 333, 13, false, 0, 0.0f, -1.0f, 1.0f, 0, true);           // c % 4 != 0: scalar, channel tail
    checkNorm(2, 500, 12, true, 3, 0.0f, 2.0f, 3.0f, 1, false);            // misaligned: scalar, sigmoid
    checkNorm(1, 1000, 24, true, 4, 0.0f, 0.0f, 1.0f, 0, false, 96);       // 3 warps, tanh
    checkNorm(3, 1, 8, true, 1, 0.0f, 0.0f, 1.0f, 0, false);               // one voxel: var 0, y = shift
    checkNorm(1, 200, 40, true, 2, 0.01f, 0.0f, 1.0f, 0, false, kBlock, huge);
    checkNorm(1, 128 * 128 * 128, 8, true, 2, 0.01f, 100.0f, 0.01f, 0, false);  // 2M voxels, |mean| / std = 1e4
    checkNorm(1, 128 * 128 * 128, 4, false, 0, 0.0f, 0.0f, 1.0f, 0, false);     // 2M voxels, centred

    checkMaxpool(3, 24, 24, 24, 64, cubic(3, 2, 1), 0, false);   // the stem's pool at a quarter size
    checkMaxpool(2, 7, 9, 11, 64, cubic(3, 2, 1), 0, true);      // odd sizes, NaN propagation
    checkMaxpool(2, 7, 9, 11, 6, cubic(3, 2, 1), 0, false);      // c % 4 != 0: scalar path
    checkMaxpool(1, 8, 8, 8, 16, cubic(2, 2, 0), 1, false);      // misaligned in: scalar path
    checkMaxpool(1, 5, 6, 7, 12, cubic(3, 1, 1), 0, true);       // stride 1
    checkMaxpool(1, 5, 6, 7, 8, cubic(3, 2, 1), 0, false, huge);
    checkMaxpool(2, 6, 9, 10, 32, {1, 2, 2, 1, 2, 2, 0, 0, 0}, 0, false);   // in-plane only (anisotropic data)
    checkMaxpool(2, 9, 5, 8, 7, {3, 1, 2, 2, 1, 3, 1, 0, 1}, 0, true);      // every axis different, scalar, NaN
    checkMaxpool(1, 7, 8, 6, 12, {2, 3, 1, 1, 2, 2, 1, 1, 0}, 1, false);    // misaligned in, padding on two axes
    checkMaxpool(1, 6, 7, 5, 4, {3, 2, 1, 2, 2, 1, 1, 1, 0}, 0, false, huge);

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

    checkGateMix(8, 128, 4, 0, 1.0f, false);
    checkGateMix(3, 6, 5, 0, 1.0f, false);                                 // width % 4 != 0: scalar
    checkGateMix(4, 64, 3, 1, 1.0f, false);                                // misaligned experts: scalar
    checkGateMix(5, 32, 6, 0, 300.0f, true);                               // huge logits, NaN logit
    checkGateMix(2, 16, 1, 0, 1.0f, false);                                // one expert: weight 1

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
