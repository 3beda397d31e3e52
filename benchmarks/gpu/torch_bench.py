#!/usr/bin/env python3
"""The PyTorch bar on a GPU for renal-mtl (shared/ENGINEERING.md section 7).

Times the R18-3P-96 MTDL model and the three STDL models (three separate models run one after the
other on the same input, as a user would), at a batch of 1 and of 8 cases (input (B, 3, 96, 96, 96)),
with the reference PyTorch modules of weights/export/renal_mtl and the same HDF5 weights as the Java
engine (export.load_h5), or with seeded random weights built here when no file is given.

Variants (each in strict fp32, TF32, fp16 and bf16):
  eager_ncdhw        eager, PyTorch's default layout
  eager_cl3d         eager, weights in channels_last_3d (cuDNN's NDHWC kernels, no transposes)
  cuda_graph         the whole forward captured once with torch.cuda.graphs and replayed (input copied
                     into the static buffer inside the timed region), in the faster of the two eager layouts
  compile_max_autotune  torch.compile(mode="max-autotune") (Inductor + CUDA graphs), same layout;
                     compiled last, with what is left of the time budget
fp16/bf16 convert weights and input (.half()/.bfloat16()), no autocast: the fastest low-precision
path PyTorch offers for inference, and the one our engine's fp16 mode corresponds to.

Protocol: model.eval(), torch.inference_mode(), cudnn.benchmark=True, >= 20 warm-ups, then >= 100
timed iterations or the per-variant time budget, whichever ends first (never fewer than 20). Each
iteration is one request: CUDA events around the forward, then a synchronise, so a launch-bound
variant pays its launch gaps. Reported: p50/p90/mean/min of the event times, the host wall-clock
p50, cases/s. Memory: torch.cuda.max_memory_allocated after reset_peak_memory_stats (weights + input +
activations + workspaces, from before the model was built), measured over the warm-ups (includes
cuDNN's algorithm search) and again over the timed iterations (steady state); and the device-wide
cudaMemGetInfo delta (torch.cuda.mem_get_info) from before the model was built to the end of the
timed iterations, so the CUDA context is excluded and the caching allocator's reserve, cuDNN/cuBLAS
workspaces and graph pools are included. Every variant's probabilities are compared with the strict
fp32 eager NCDHW output of the same model and batch (max |difference|): a wrong cuDNN kernel shows up
as a large number (ENGINEERING.md section 5 lists known conv3d bugs).

A variant that fails (no Triton, out of memory, an op without a kernel for the dtype) is recorded
with its error and the run goes on. The whole run respects --budget-s (default 450 s: under 8
minutes on an H100 with start-up); iteration counts adapt to it.

  python3 torch_bench.py --json out.json                         # seeded random weights
  python3 torch_bench.py --mtdl mtdl.h5 --stdl stdl.h5 --json out.json
  python3 torch_bench.py --stdl ccrcc.h5 stage.h5 renal.h5 ...   # STDL as three files
  python3 torch_bench.py --quick --json out.json                 # fewer configurations, ~2 minutes
  python3 torch_bench.py --dry-run --json out.json               # CPU, tiny input, 2 iterations

Output: JSON to --json (written atomically), a table on stdout. Exit code 0 when the run finished
(failed variants are data, not a failure of the run); 2 on bad arguments or unreadable weights.
"""

import argparse
import copy
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "weights", "export"))
sys.path.insert(0, EXPORT_DIR)

import export  # noqa: E402  weights/export/export.py: load_h5, read_h5, build_model
from renal_mtl import RenalModel, r18_3p_96_mtdl, r18_3p_96_stdl  # noqa: E402

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
VARIANTS = ("eager_ncdhw", "eager_cl3d", "cuda_graph", "compile_max_autotune")
MIN_WARMUP = 20
TARGET_ITERS = 100
MIN_ITERS = 20


class BenchError(Exception):
    """Bad arguments or unreadable weights: one line, exit code 2."""


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

class Probabilities(torch.nn.Module):
    """One RenalModel, returning only its probabilities (B, T): a plain tensor output suits graph
    capture and torch.compile, and nothing else of the output is used."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):  # x (B, P, D, H, W) -> (B, T)
        return self.model(x)["probabilities"]


class Sequential3(torch.nn.Module):
    """Three single-task models run one after the other on the same input: the STDL setting."""

    def __init__(self, models):
        super().__init__()
        self.models = torch.nn.ModuleList(models)

    def forward(self, x):  # x (B, P, D, H, W) -> (B, 3), columns in the models' order
        return torch.cat([m(x) for m in self.models], dim=1)


def split_networks(model):
    """One RenalModel per network of model (for an STDL file holding all three networks)."""
    config = model.config
    state = model.state_dict()
    out = []
    for net in config["networks"]:
        cfg = copy.deepcopy(config)
        cfg["networks"] = [copy.deepcopy(net)]
        cfg["tasks"] = [t for t in config["tasks"] if t["name"] in net["tasks"]]
        cfg["name"] = "%s [%s]" % (config.get("name", "model"), net["name"])
        single = RenalModel(cfg)
        pfx = net["prefix"]
        single.load_state_dict({k: v for k, v in state.items() if k.startswith(pfx) or pfx == ""}, strict=True)
        out.append(single.eval())
    return out


def seeded(config, seed, condition, size):
    """A RenalModel with seeded random weights; conditioned (renal_mtl.conditioning) so that
    activations and probabilities are well-scaled and precision comparisons mean something."""
    torch.manual_seed(seed)
    model = RenalModel(config).eval()
    note = "seeded random weights (seed %d)" % seed
    if condition:
        try:
            from renal_mtl.conditioning import condition as cond
        except ImportError as e:  # the exporter's package may not have it yet
            return model, note + ", not conditioned (%s)" % e
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn([1, model.n_phases] + list(size), generator=gen)
        with torch.no_grad():
            cond(model, x, gen, calibration_batch=2)
        note += ", conditioned on a seeded random input"
    return model.eval(), note


def load_models(args, size):
    """{'mtdl': (cpu module, note), 'stdl': (cpu module, note)} for the models asked for."""
    models = {}
    try:
        if "mtdl" in args.models:
            if args.mtdl:
                m = export.load_h5(args.mtdl)
                if len(m.config["networks"]) != 1:
                    raise BenchError("%s: expected one network (MTDL), found %d" % (args.mtdl, len(m.config["networks"])))
                models["mtdl"] = (Probabilities(m), "weights %s" % args.mtdl)
            else:
                m, note = seeded(r18_3p_96_mtdl(), args.seed, not args.no_condition, size)
                models["mtdl"] = (Probabilities(m), note)
        if "stdl" in args.models:
            if args.stdl and len(args.stdl) == 1:
                singles = split_networks(export.load_h5(args.stdl[0]))
                note = "weights %s (split into %d models)" % (args.stdl[0], len(singles))
            elif args.stdl:
                singles = [export.load_h5(p) for p in args.stdl]
                note = "weights %s" % ", ".join(args.stdl)
            else:
                whole, note = seeded(r18_3p_96_stdl(), args.seed + 1, not args.no_condition, size)
                singles = split_networks(whole)
                note += ", split into %d models" % len(singles)
            models["stdl"] = (Sequential3([Probabilities(s) for s in singles]), note)
    except export.ExportError as e:
        raise BenchError(str(e))
    return models


# ---------------------------------------------------------------------------------------------
# Precision and environment
# ---------------------------------------------------------------------------------------------

def set_tf32(enabled):
    """Allow or forbid TF32 in cuDNN convolutions and cuBLAS matmuls; returns what was set.

    PyTorch >= 2.9 has fp32_precision settings and warns about the legacy allow_tf32 flags (and
    refuses to mix the two), so the new API is used where it exists."""
    cudnn_conv = getattr(torch.backends.cudnn, "conv", None)
    if cudnn_conv is not None and hasattr(cudnn_conv, "fp32_precision"):
        value = "tf32" if enabled else "ieee"
        try:
            torch.backends.cudnn.conv.fp32_precision = value
            torch.backends.cuda.matmul.fp32_precision = value
            return "cudnn.conv.fp32_precision=cuda.matmul.fp32_precision=%s" % value
        except (AttributeError, RuntimeError, ValueError):
            pass  # an intermediate release with the attribute but not the setting: use the legacy flags
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled
    return "cudnn.allow_tf32=cuda.matmul.allow_tf32=%s" % enabled


def dtype_of(precision):
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)


def run_cmd(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device):
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": str(device),
        "host": platform.node(),
        "cpu_threads": torch.get_num_threads(),
        "torch_compile_available": hasattr(torch, "compile"),
        "channels_last_3d_available": hasattr(torch, "channels_last_3d"),
    }
    try:
        import triton  # noqa: F401
        env["triton"] = triton.__version__
    except Exception as e:  # not installed, or broken: both matter for torch.compile
        env["triton"] = None
        env["triton_error"] = "%s: %s" % (type(e).__name__, e)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update({
            "device_name": props.name,
            "compute_capability": "%d.%d" % (props.major, props.minor),
            "multiprocessors": props.multi_processor_count,
            "device_memory_mib": round(props.total_memory / 2**20),
            "driver": run_cmd(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]),
            "nvidia_smi_cuda": None,
        })
        smi = run_cmd(["nvidia-smi"])
        if smi:
            for line in smi.splitlines():
                if "CUDA Version" in line:
                    env["nvidia_smi_cuda"] = line.split("CUDA Version:")[1].split("|")[0].strip()
                    break
    else:
        env["device_name"] = platform.processor() or "cpu"
    return env


# ---------------------------------------------------------------------------------------------
# Measuring one variant
# ---------------------------------------------------------------------------------------------

def percentile(values, q):
    """Linear-interpolated percentile (numpy's default method) of a non-empty list."""
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_memory(device):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


class Timer:
    """Per-iteration device time (CUDA events, or the host clock on a CPU) and host wall time."""

    def __init__(self, device):
        self.device = device
        self.device_ms, self.wall_ms = [], []

    def run(self, fn):
        if self.device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0 = time.perf_counter()
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            self.wall_ms.append((time.perf_counter() - t0) * 1e3)
            self.device_ms.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            out = fn()
            self.wall_ms.append((time.perf_counter() - t0) * 1e3)
            self.device_ms.append(self.wall_ms[-1])
        return out


def build_variant(base, variant, precision, layout, device, x):
    """(callable taking the input, layout used, extra info); the module is a fresh copy of base."""
    model = copy.deepcopy(base).to(device=device, dtype=dtype_of(precision))
    if layout == "cl3d":
        model = model.to(memory_format=torch.channels_last_3d)
    model.eval()
    info = {}
    if variant.startswith("eager"):
        return model, info
    if variant == "cuda_graph":
        static_in = x.clone()
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(3):  # cuDNN algorithm search and lazy handles happen here, not in capture
                model(static_in)
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = model(static_in)

        def replay(inp):
            static_in.copy_(inp)
            graph.replay()
            return static_out
        replay.keep = (model, graph, static_in)  # owners of the graph's memory
        return replay, info
    if variant == "compile_max_autotune":
        if not hasattr(torch, "compile"):
            raise RuntimeError("torch.compile is not available in torch %s" % torch.__version__)
        compiled = torch.compile(model, mode="max-autotune", fullgraph=False, dynamic=False)
        # Inductor's CUDA graphs reuse output memory between runs; marking each call as a new step
        # tells it the previous output is no longer needed.
        mark = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)

        def call(inp):
            if mark is not None:
                mark()
            return compiled(inp)
        t0 = time.perf_counter()
        call(x)
        sync(device)
        info["compile_s"] = round(time.perf_counter() - t0, 2)
        return call, info
    raise ValueError(variant)


def measure(base, variant, precision, layout, device, batch, size, seed, budget_s, warmup, target_iters, min_iters,
            reference):
    """Figures for one (model, batch, precision, variant); raises on failure (caller records it)."""
    free_memory(device)
    cuda = device.type == "cuda"
    if cuda:
        free0 = torch.cuda.mem_get_info(device)[0]
        alloc0 = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    gen = torch.Generator().manual_seed(seed + batch)
    x = torch.randn((batch, 3) + tuple(size), generator=gen).to(device=device, dtype=dtype_of(precision))
    result = {"layout": {"ncdhw": "NCDHW", "cl3d": "channels_last_3d"}[layout]}
    fn = None
    try:
        t_start = time.perf_counter()
        fn, info = build_variant(base, variant, precision, layout, device, x)
        result.update(info)
        warm = Timer(device)
        for _ in range(warmup):
            out = warm.run(lambda: fn(x))
        sync(device)
        result["warmup"] = warmup
        result["warmup_s"] = round(time.perf_counter() - t_start, 2)
        if cuda:
            result["peak_alloc_incl_warmup_mib"] = round((torch.cuda.max_memory_allocated(device) - alloc0) / 2**20, 1)
            torch.cuda.reset_peak_memory_stats(device)
        # Iterations: target_iters if they fit the budget at the warm-ups' pace, else what fits,
        # never fewer than min_iters.
        per_iter_s = statistics.median(warm.wall_ms[-min(5, len(warm.wall_ms)):]) / 1e3
        fits = int(budget_s / max(per_iter_s, 1e-6))
        iters = target_iters if fits >= target_iters else max(min_iters, fits)
        timer = Timer(device)
        t_loop = time.perf_counter()
        for _ in range(iters):
            out = timer.run(lambda: fn(x))
        sync(device)
        result["timed_s"] = round(time.perf_counter() - t_loop, 2)
        if cuda:
            result["peak_alloc_mib"] = round((torch.cuda.max_memory_allocated(device) - alloc0) / 2**20, 1)
            result["device_used_delta_mib"] = round((free0 - torch.cuda.mem_get_info(device)[0]) / 2**20, 1)
        d = timer.device_ms
        result.update({
            "iterations": len(d),
            "latency_ms": {"p50": round(percentile(d, 50), 4), "p90": round(percentile(d, 90), 4),
                           "mean": round(statistics.fmean(d), 4), "min": round(min(d), 4)},
            "wall_ms_p50": round(percentile(timer.wall_ms, 50), 4),
            "cases_per_s": round(batch / (percentile(d, 50) / 1e3), 2),
        })
        probs = out.float().cpu()
        result["finite"] = bool(torch.isfinite(probs).all())
        if reference is not None:
            result["max_abs_diff_vs_fp32_eager"] = float((probs - reference).abs().max())
        return result, probs
    finally:
        del fn
        if variant == "compile_max_autotune" and hasattr(torch, "_dynamo"):
            torch._dynamo.reset()  # drops compiled code and its CUDA-graph memory pools
        free_memory(device)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(prog="torch_bench.py", description=__doc__.split("\n")[0])
    ap.add_argument("--mtdl", help="MTDL weights (.h5, FORMAT.md); default: seeded random weights")
    ap.add_argument("--stdl", nargs="+", help="STDL weights: one .h5 with three networks, or three .h5 files")
    ap.add_argument("--json", help="write the results here (atomically)")
    ap.add_argument("--models", default="mtdl,stdl", help="comma list of mtdl, stdl (default both)")
    ap.add_argument("--batches", default="1,8", help="comma list of cases per batch (default 1,8)")
    ap.add_argument("--precisions", default=",".join(PRECISIONS), help="comma list of " + ", ".join(PRECISIONS))
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma list of " + ", ".join(VARIANTS))
    ap.add_argument("--budget-s", type=float, default=450.0, help="wall-clock budget of the whole run (default 450)")
    ap.add_argument("--compile-estimate-s", type=float, default=90.0,
                    help="assumed duration of the first torch.compile (a compilation starts only if 1.3x the "
                         "last one's duration is left; default 90)")
    ap.add_argument("--seed", type=int, default=0, help="seed of random weights and inputs")
    ap.add_argument("--no-condition", action="store_true", help="leave seeded random weights unconditioned")
    ap.add_argument("--quick", action="store_true",
                    help="MTDL and STDL at batch 1 and 8 but only TF32 and bf16, budget 150 s")
    ap.add_argument("--dry-run", action="store_true",
                    help="CPU, 16^3 input, 2 warm-ups and 2 iterations per variant: tests the script anywhere")
    ap.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    args = ap.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.precisions = [p for p in args.precisions.split(",") if p]
    args.variants = [v for v in args.variants.split(",") if v]
    for name, got, allowed in (("--models", args.models, ("mtdl", "stdl")), ("--precisions", args.precisions, PRECISIONS),
                               ("--variants", args.variants, VARIANTS)):
        bad = [g for g in got if g not in allowed]
        if bad:
            raise BenchError("%s: unknown %s (allowed: %s)" % (name, ", ".join(bad), ", ".join(allowed)))
    if any(b < 1 for b in args.batches):
        raise BenchError("--batches: every batch must be >= 1")
    if args.stdl and len(args.stdl) not in (1, 3):
        raise BenchError("--stdl: give one file with three networks or three files, got %d" % len(args.stdl))
    for p in ([args.mtdl] if args.mtdl else []) + (args.stdl or []):
        if not os.path.isfile(p):
            raise BenchError("%s: no such file" % p)
    if args.quick:
        args.precisions = [p for p in args.precisions if p in ("tf32", "bf16")] or args.precisions
        args.budget_s = min(args.budget_s, 150.0)
    return args


def plan(args):
    """Ordered (model, batch, precision, variant) lists: eager and graph first; compile last, in
    order of interest (MTDL before STDL, TF32 and bf16 before fp16 and strict fp32, batch 1 first),
    because each compilation takes a minute or more and the budget may end the list early."""
    first, last = [], []
    for model in args.models:
        for batch in args.batches:
            for precision in args.precisions:
                for variant in args.variants:
                    (last if variant == "compile_max_autotune" else first).append((model, batch, precision, variant))
    interest = {"tf32": 0, "bf16": 1, "fp16": 2, "fp32": 3}
    last.sort(key=lambda r: (args.models.index(r[0]), interest[r[2]], args.batches.index(r[1])))
    return first, last


def main(argv=None):
    try:
        args = parse_args(argv)
    except BenchError as e:
        print("torch_bench.py: error: %s" % e, file=sys.stderr)
        return 2
    t_begin = time.perf_counter()
    if args.dry_run:
        device = torch.device(args.device or "cpu")
        size, warmup, iters = (16, 16, 16), 2, (2, 2)
    else:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        size, warmup, iters = (96, 96, 96), MIN_WARMUP, (TARGET_ITERS, MIN_ITERS)
    if device.type == "cuda":
        torch.cuda.init()
        torch.zeros(1, device=device)  # create the context before any memory baseline
        torch.backends.cudnn.benchmark = True
    try:
        models = load_models(args, size)
    except BenchError as e:
        print("torch_bench.py: error: %s" % e, file=sys.stderr)
        return 2

    first, last = plan(args)
    report = {
        "tool": "benchmarks/gpu/torch_bench.py",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment(device),
        "settings": {
            "input": [None, 3] + list(size), "batches": args.batches, "precisions": args.precisions,
            "variants": args.variants, "budget_s": args.budget_s, "dry_run": args.dry_run, "quick": args.quick,
            "warmup": warmup, "target_iterations": iters[0], "min_iterations": iters[1],
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark), "inference_mode": True,
            "low_precision": "weights and input converted (.half()/.bfloat16()), no autocast",
            "latency": "per request: CUDA events around forward, then synchronize",
            "cuda_graph_input": "input copied into the static buffer inside the timed region",
        },
        "models": {k: v[1] for k, v in models.items()},
        "results": [],
        "complete": False,
    }
    print("torch_bench: %s, torch %s, CUDA %s, cuDNN %s" % (
        report["environment"].get("device_name"), torch.__version__, torch.version.cuda, report["environment"]["cudnn"]),
        flush=True)

    references = {}  # (model, batch) -> fp32 eager NCDHW probabilities
    # Seconds the last compilation and its timing took; before the first, a guess (a max-autotune
    # compilation of this network took minutes elsewhere), so that one is not started too late.
    last_compile = [args.compile_estimate_s]
    best_layout = {}  # (model, batch, precision) -> faster eager layout
    todo = first + last
    compile_share = 0.4 if last else 0.0

    def remaining():
        return args.budget_s - (time.perf_counter() - t_begin)

    with torch.inference_mode():
        for index, (model, batch, precision, variant) in enumerate(todo):
            row = {"model": model, "batch": batch, "precision": precision, "variant": variant}
            left_here = len(first) - index if index < len(first) else len(todo) - index
            # Time for this variant: an equal share of what is left to its phase.
            phase_left = remaining() - (compile_share * args.budget_s if index < len(first) else 0.0)
            share = max(0.0, phase_left) / max(1, left_here)
            try:
                if variant == "cuda_graph" and device.type != "cuda":
                    raise RuntimeError("cuda_graph needs a CUDA device")
                if variant == "compile_max_autotune" and not hasattr(torch, "compile"):
                    raise RuntimeError("torch %s has no torch.compile" % torch.__version__)
                if variant == "eager_cl3d" and not hasattr(torch, "channels_last_3d"):
                    raise RuntimeError("torch %s has no channels_last_3d" % torch.__version__)
                # A compilation is started only if the last one (plus its timing) would still fit.
                need = 5.0 if variant != "compile_max_autotune" else max(30.0, 1.3 * last_compile[0])
                if remaining() < need:
                    row.update({"status": "skipped", "error": "time budget spent (%.0f s left)" % remaining()})
                    report["results"].append(row)
                    print_row(row, flush=True)
                    if args.json:
                        write_json(args.json, report)
                    continue
                row["tf32"] = set_tf32(precision == "tf32") if device.type == "cuda" else "n/a (cpu)"
                if variant == "eager_ncdhw":
                    layout = "ncdhw"
                elif variant == "eager_cl3d":
                    layout = "cl3d"
                else:
                    layout = best_layout.get((model, batch, precision), "cl3d" if hasattr(torch, "channels_last_3d") else "ncdhw")
                ref = references.get((model, batch))
                # Budget for the timed loop: the share minus a guess at warm-up/compile cost.
                timed_budget = max(0.5, share * 0.6)
                result, probs = measure(models[model][0], variant, precision, layout, device, batch, size,
                                        args.seed, timed_budget, warmup, iters[0], iters[1], ref)
                if args.dry_run:
                    result["note"] = "dry run: CPU, 16^3 input"
                row.update(result)
                row["status"] = "ok"
                if "compile_s" in result:
                    last_compile[0] = result["compile_s"] + result.get("timed_s", 0.0)
                if precision == "fp32" and variant == "eager_ncdhw":
                    references[(model, batch)] = probs
                if variant.startswith("eager"):
                    key = (model, batch, precision)
                    prev = best_layout.get(key + ("ms",))
                    if prev is None or result["latency_ms"]["p50"] < prev:
                        best_layout[key] = layout
                        best_layout[key + ("ms",)] = result["latency_ms"]["p50"]
            except Exception as e:  # recorded, and the run goes on
                row["status"] = "error"
                row["error"] = ("%s: %s" % (type(e).__name__, e)).strip().splitlines()[0][:500]
                row["traceback_tail"] = traceback.format_exc().strip().splitlines()[-3:]
                free_memory(device)
            report["results"].append(row)
            print_row(row, flush=True)
            if args.json:  # after every variant: a run killed from outside still leaves its results
                report["elapsed_s"] = round(time.perf_counter() - t_begin, 1)
                write_json(args.json, report)

    report["complete"] = True
    report["elapsed_s"] = round(time.perf_counter() - t_begin, 1)
    print_table(report)
    if args.json:
        write_json(args.json, report)
        print("torch_bench: wrote %s (%.0f s)" % (args.json, report["elapsed_s"]))
    return 0


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def fmt(v, spec="%.3f"):
    return "-" if v is None else spec % v


def print_row(row, flush=False):
    lat = row.get("latency_ms", {})
    print("  %-5s b=%-2d %-5s %-21s %-7s p50 %9s ms  p90 %9s ms  peak %8s MiB  %s" % (
        row["model"], row["batch"], row["precision"], row["variant"], row["status"], fmt(lat.get("p50")),
        fmt(lat.get("p90")), fmt(row.get("peak_alloc_mib"), "%.0f"), row.get("error", "")), flush=flush)


def print_table(report):
    env = report["environment"]
    print()
    print("PyTorch bar: %s | driver %s | CUDA %s | cuDNN %s | torch %s | triton %s" % (
        env.get("device_name"), env.get("driver"), env.get("cuda_runtime"), env.get("cudnn"), env.get("torch"),
        env.get("triton")))
    head = "%-5s %3s %-5s %-21s %-16s %10s %10s %9s %9s %9s %10s %6s" % (
        "model", "B", "prec", "variant", "layout", "p50 ms", "p90 ms", "cases/s", "peak MiB", "dev MiB", "|d| fp32", "iters")
    print(head)
    print("-" * len(head))
    for r in report["results"]:
        if r["status"] != "ok":
            print("%-5s %3d %-5s %-21s %-16s %s: %s" % (r["model"], r["batch"], r["precision"], r["variant"], "",
                                                        r["status"], r.get("error", "")[:90]))
            continue
        lat = r["latency_ms"]
        print("%-5s %3d %-5s %-21s %-16s %10.3f %10.3f %9.1f %9s %9s %10s %6d" % (
            r["model"], r["batch"], r["precision"], r["variant"], r["layout"], lat["p50"], lat["p90"], r["cases_per_s"],
            fmt(r.get("peak_alloc_mib"), "%.0f"), fmt(r.get("device_used_delta_mib"), "%.0f"),
            fmt(r.get("max_abs_diff_vs_fp32_eager"), "%.1e"), r["iterations"]))
    print("p50/p90: per-request latency (CUDA events); peak: max_memory_allocated incl. weights; dev: cudaMemGetInfo delta;")
    print("|d| fp32: max |probability difference| against eager NCDHW strict fp32 of the same model and batch.")


def write_json(path, report):
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".torch_bench.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


if __name__ == "__main__":
    sys.exit(main())
