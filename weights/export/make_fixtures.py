#!/usr/bin/env python3
"""Seeded random models, inputs and PyTorch outputs: the oracle fixtures for the Java engine.

  make_fixtures.py --out DIR [--quick] [--seed N] [--only CASE ...]

For each case writes DIR/<case>.h5 (the model, FORMAT.md, via export.save_h5) and DIR/<case>.io.h5:
  input                 float32 (B, P, D, H, W)
  probabilities         float32 (B, T)     tasks in config order
  logits                float32 (B, T)
  features/<network>    float32 (B, F_fused)
  probabilities_f64     float64 (B, T)     the same model evaluated in float64
  features_f64/<net>    float64 (B, F_fused)
  @case, @seed, @torch_version
and DIR/<case>.layers.h5, PyTorch's output of every layer (PyTorchLayersTest):
  <node name>           float32            one per node of the engine's graph, named as the node (see
                                           layer_goldens, the one place the mapping is written down);
                                           computed with the float64 model, stored rounded to float32
                                           (the engine reads float32 in any case; 6e-8 relative)
  @case, @order         the node names in the order PyTorch computed them (JSON list)
plus DIR/manifest.json (cases with description, batch, input size, tasks, storage dtype).

Weights are conditioned so that the comparison means something: Linear layers of the heads get He
initialisation (activations keep their scale through many layers); every BatchNorm's running
statistics are set, in one eval-mode forward, from the very input it receives (the fixture cases,
padded with random cases to 4 so that 1x1x1 maps still give a variance), then mildly perturbed with
the seed (so eval-mode BN is not an exact standardisation); each tower's last Linear is scaled so
logits land in about [-2.5, 2.5] (probabilities not saturated). See renal_mtl/conditioning.py.
Paper-size cases (R18-3P-96 at 96^3) are made only when named with --only.
Deterministic for a given seed (and thread count).
"""

import argparse
import copy
import json
import os
import sys
import time
import zlib

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export  # noqa: E402
from renal_mtl import config as C  # noqa: E402
from renal_mtl.conditioning import condition  # noqa: E402
from renal_mtl.heads import Gate, MLPStack, PLEHead, Tower  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402
from renal_mtl.resnet3d import BasicBlock, Bottleneck, ResNet3D, ZeroPadShortcut  # noqa: E402

SMALL = (8, 16, 32, 64)
FULL = (64, 128, 256, 512)
PAPER_HEAD = dict(levels=2, task_experts=2, shared_experts=2, expert_hidden=(256, 128), gate_bias=True,
                  tower_hidden=(64,))
SMALL_HEAD = dict(levels=2, task_experts=2, shared_experts=2, expert_hidden=(32, 16), tower_hidden=(8,))
TASK_NAMES = [t["name"] for t in C.PAPER_TASKS]


def _net(backbone, head, fusion="batch", name="mtdl", prefix="", tasks=None):
    return {"name": name, "prefix": prefix, "tasks": list(tasks or TASK_NAMES), "fusion": fusion,
            "backbone": backbone, "head": head}


def _bb(depth=18, widths=SMALL, **kw):
    return C.resnet_backbone(depth=depth, widths=widths, **kw)


def _ple(**kw):
    h = dict(SMALL_HEAD)
    h.update(kw)
    return C.ple_head(**h)


MEDICALNET = dict(flavour="medicalnet", strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), shortcut="A")
MONAI = dict(flavour="monai", stem_stride=(1, 1, 1), downsample_bias=True)


def cases():
    """(case, description, config, batch, (D, H, W), fp16) of the full matrix, most important first."""
    out = []

    def add(case, desc, networks, batch, size, fp16=False, tasks=C.PAPER_TASKS, phases=C.PHASES_3):
        cfg = C.model_config("fixture " + case, networks, tasks=tasks, phases=phases, size=size)
        out.append((case, desc, cfg, batch, tuple(size), fp16))

    add("r18_full_mtdl", "R18-3P MTDL at full width (64..512), Hara stem 7^3/2 + max-pool, shortcut B, "
        "batch fusion, paper PLE head (2 levels, 2+2 experts, [256,128], tower [64]); 32^3",
        [_net(_bb(widths=FULL), C.ple_head(**PAPER_HEAD))], 1, (32, 32, 32))
    add("r18_b_batch3", "R18 small widths, shortcut B, batch fusion, PLE 2 levels, batch 3",
        [_net(_bb(), _ple())], 3, (24, 24, 24))
    add("r18_stdl", "STDL: three R18 networks (prefixes ccrcc./stage./renal.) with MLP heads [32,16], batch 3",
        [_net(_bb(), C.mlp_head(hidden=(32, 16)), name=t, prefix=t + ".", tasks=[t]) for t in TASK_NAMES],
        3, (24, 24, 24))
    add("r10_a_ple1", "R10 shortcut A, PLE 1 level with task_experts 1, shared_experts 1",
        [_net(_bb(depth=10, shortcut="A"), _ple(levels=1, task_experts=1, shared_experts=1))], 1, (24, 24, 24))
    add("r34_b_ple3_odd", "R34 shortcut B, PLE 3 levels, 2 task + 3 shared experts, odd input 37x41x29",
        [_net(_bb(depth=34), _ple(levels=3, task_experts=2, shared_experts=3))], 1, (37, 41, 29))
    add("r50_b", "R50 (Bottleneck) shortcut B, batch fusion, PLE 2 levels",
        [_net(_bb(depth=50), _ple())], 1, (24, 24, 24))
    add("r50_a_batch3", "R50 (Bottleneck) shortcut A (channel zero-padding also in stage 1), batch 3",
        [_net(_bb(depth=50, shortcut="A"), _ple(task_experts=1, shared_experts=2))], 3, (20, 20, 20))
    add("monai_stem", "MONAI-style stem 7^3 stride 1 + max-pool, downsample bias, R18 shortcut B",
        [_net(_bb(**MONAI), _ple())], 1, (16, 18, 20))
    add("medicalnet_dil", "MedicalNet-style R18: strides 1,2,1,1, dilations 1,1,2,4, shortcut A",
        [_net(_bb(**MEDICALNET), _ple())], 1, (32, 32, 32))
    add("medicalnet_dil_r50_b3", "MedicalNet-style R50 dilations 1,1,2,4, shortcut A, batch 3",
        [_net(_bb(depth=50, **MEDICALNET), _ple(levels=1))], 3, (24, 24, 24))
    add("no_maxpool", "R18 stem 7^3 stride 2 without max-pool, shortcut B",
        [_net(_bb(max_pool=False), _ple())], 1, (24, 24, 24))
    add("hara_tstride", "Hara-style anisotropic stem stride (1,2,2), kernel (7,7,7), R10, odd input 29x37x41",
        [_net(_bb(depth=10, stem_stride=(1, 2, 2)), _ple())], 1, (29, 37, 41))
    add("stem_k3_nopool", "R10 stem kernel 3^3 stride 1 padding 1 without max-pool, shortcut A",
        [_net(_bb(depth=10, stem_kernel=(3, 3, 3), stem_stride=(1, 1, 1), stem_padding=(1, 1, 1),
                  max_pool=False, shortcut="A"), _ple())], 1, (12, 12, 12))
    add("fusion_channels", "channels fusion (3 phases as 3 input channels), R18 shortcut B, batch 3",
        [_net(_bb(in_channels=3), _ple(), fusion="channels")], 3, (24, 24, 24))
    add("fusion_separate", "separate fusion (one R10 backbone per phase: backbones.0..2), PLE 2 levels",
        [_net(_bb(depth=10), _ple(), fusion="separate")], 1, (24, 24, 24))
    add("ple_expert_bn", "PLE with expert_bn (BatchNorm1d in experts), batch 3",
        [_net(_bb(depth=10), _ple(expert_bn=True))], 3, (20, 20, 20))
    add("ple_gate_hidden_bn", "PLE gates with hidden [16] and BatchNorm1d on the gate logits",
        [_net(_bb(depth=10), _ple(gate_hidden=(16,), gate_bn=True))], 3, (20, 20, 20))
    add("ple_gate_nobias", "PLE gates without bias, hidden [12] (DeepCTR-style), 3 levels 1 task + 1 shared",
        [_net(_bb(depth=10), _ple(levels=3, task_experts=1, shared_experts=1, gate_hidden=(12,),
                                  gate_bias=False))], 1, (20, 20, 20))
    add("ple_tower_bn_nobias", "PLE towers [24,12] with BatchNorm1d and no output bias, experts [32]",
        [_net(_bb(depth=10), _ple(expert_hidden=(32,), tower_hidden=(24, 12), tower_bn=True,
                                  tower_bias=False))], 3, (20, 20, 20))
    add("ple_tower_direct", "PLE tower without hidden layers (expert output -> logit), 3 shared experts",
        [_net(_bb(depth=10), _ple(shared_experts=3, tower_hidden=()))], 1, (20, 20, 20))
    add("task_order", "network lists tasks as renal, ccrcc, stage (outputs must follow config order)",
        [_net(_bb(depth=10), _ple(), tasks=["renal", "ccrcc", "stage"])], 3, (20, 20, 20))
    add("stdl_mixed", "STDL with batch / channels / separate fusion per network, MLP bn and no bias, "
        "prefixes ccrcc./stage./renal.",
        [_net(_bb(depth=10), C.mlp_head(hidden=(16,), bn=True), name="ccrcc", prefix="ccrcc.",
              tasks=["ccrcc"]),
         _net(_bb(depth=10, in_channels=3), C.mlp_head(hidden=(16, 8), bias=False), fusion="channels",
              name="stage", prefix="stage.", tasks=["stage"]),
         _net(_bb(depth=10, shortcut="A"), C.mlp_head(hidden=()), fusion="separate", name="renal",
              prefix="renal.", tasks=["renal"])], 3, (20, 20, 20))
    add("single_task_file", "one STDL network in its own file: task renal only, prefix \"\"",
        [_net(_bb(depth=18), C.mlp_head(hidden=(32, 16)), name="renal", tasks=["renal"])], 1, (24, 24, 24),
        tasks=[C.PAPER_TASKS[2]])
    add("two_phase_channels", "two phases (arterial, venous) as 2 input channels, R18 shortcut A",
        [_net(_bb(in_channels=2, shortcut="A"), _ple(), fusion="channels")], 1, (24, 24, 24),
        phases=("arterial", "venous"))
    add("fp16_r18", "R18 small widths stored as float16 (reference outputs use the rounded weights)",
        [_net(_bb(), _ple())], 1, (24, 24, 24), fp16=True)
    add("ple_sigmoid_gate_bn", "format 2: PLE with sigmoid hidden activations (DeepCTR dnn_activation='sigmoid') and "
        "dnn_use_bn: BatchNorm1d in experts, gate hidden layers [12] and towers, gates without bias",
        [_net(_bb(depth=10), _ple(activation="sigmoid", expert_bn=True, gate_hidden=(12,), gate_hidden_bn=True,
                                  gate_bias=False, tower_bn=True))], 3, (20, 20, 20))
    add("ple_tanh_level_widths", "format 2: PLE with tanh hidden activations and per-level expert widths "
        "[[32], [16]] (easezyc bottom_mlp_dims), 2 task + 1 shared experts",
        [_net(_bb(depth=10), _ple(activation="tanh", expert_hidden=([32], [16]), shared_experts=1))], 3,
        (20, 20, 20))
    add("mlp_leaky_relu", "format 2: single-task MLP head [16, 8] with BatchNorm1d and leaky ReLU (slope 0.2)",
        [_net(_bb(depth=10), C.mlp_head(hidden=(16, 8), bn=True, activation="leaky_relu", negative_slope=0.2),
              name="renal", tasks=["renal"])], 3, (20, 20, 20), tasks=[C.PAPER_TASKS[2]])
    return out


def extra_cases():
    """Paper-size cases, generated only when named with --only (a minute or more on 2 cores)."""
    mtdl, stdl = C.r18_3p_96_mtdl(), C.r18_3p_96_stdl()
    return [("paper_mtdl_96", "R18-3P-96 MTDL exactly as the paper's reference (96^3, batch 1)", mtdl, 1,
             (96, 96, 96), False),
            ("paper_stdl_96", "R18-3P-96 STDL (three networks) at 96^3, batch 1", stdl, 1, (96, 96, 96), False)]


QUICK = ("r18_full_mtdl", "r18_b_batch3", "r18_stdl", "r10_a_ple1", "r50_b", "medicalnet_dil",
         "fusion_separate", "fp16_r18")


def _round_fp16(model):
    with torch.no_grad():
        for t in export.model_tensors(model).values():
            t.copy_(t.half().float())


def layer_goldens(model, x):
    """model(x) and PyTorch's value of every node of the engine's graph: (outputs, {node name: tensor}).

    The engine's graph (engine/.../graph/ClassifierGraphs, after FoldBatchNorm and FuseResidual) names
    each node after the PyTorch module path of the tensors it reads, so a golden's name is the node's,
    and the value is the output of the PyTorch module that ends what the node computes. BatchNorm is
    folded into the Conv3d or Linear before it and takes its activation along, and a residual add with
    its ReLU is fused into the block's last conv, so (``P`` a backbone path such as ``backbone``,
    ``backbones.1``, ``ccrcc.backbone``; ``B`` a block ``P.layerS.I``; ``N`` a network prefix, "" or
    ``ccrcc.``; ``L`` a PLE level ``N head.levels.J``):

      node                                 PyTorch value
      N phases_as_batch (batch fusion)     input of module P (the phases reshaped into the batch)
      P.input (separate fusion)            input of module P (one phase)
      P.conv1 (stem conv+BN+ReLU)          relu(output of P.bn1)
      P.maxpool                            output of P.maxpool
      B.conv1, bottleneck B.conv2          relu(output of B.bn1 / B.bn2)
      B.conv2 (basic) / B.conv3 (bottl.)   output of block B (conv, BN, + shortcut, ReLU)
      B.downsample.0 (type B shortcut)     output of B.downsample.1 (its BatchNorm)
      B.downsample (type A shortcut)       output of B.downsample (ZeroPadShortcut)
      P.avgpool                            output of module P (the global mean, (N, F))
      N features (batch fusion, separate   the network's fused features, as RenalModel.forward returns
        fusion of 2+ phases)                 them (channels fusion: P.avgpool is the features node)
      ...layers.i / ...hidden.i (experts,  act(output of the Linear, or of its BatchNorm1d norms.i
        gates, towers, MLP head)             where there is one); act the head's activation (ReLU by default)
      ...task_gates.T.out, shared_gate.out output of the gate's Linear out, or of its BatchNorm1d norm
      L.task_outputs.T / L.shared_output  output of module L.task_gates.T / L.shared_gate (the mix)
      ...towers.T.out, N head.out (MLP)    sigmoid(output of the Linear out): the task's probability
      N head.probabilities (PLE, T > 1)    sigmoid(output of module N head)

    Every value but the fused features is recorded by a forward hook during the one forward pass (each
    module runs once in it); a node of the graph without a golden, or a golden without a node, fails
    PyTorchLayersTest, so this table and ClassifierGraphs cannot drift apart unnoticed.
    """
    out = {}
    handles = []

    def record(name, value):
        if name in out:
            raise RuntimeError("layer golden %s recorded twice" % name)
        out[name] = value.detach().clone()

    def on_output(module, name, post=None):
        handles.append(module.register_forward_hook(
            lambda m, i, o: record(name, o if post is None else post(o))))

    def on_input(module, name):
        handles.append(module.register_forward_pre_hook(lambda m, i: record(name, i[0])))

    fusion = {}
    for _, path, fu, _ in model._networks:
        holder = model._holder(path)
        if fu == "batch":
            fusion[holder.backbone] = (path + "." if path else "") + "phases_as_batch"
        elif fu == "separate":
            for bb in holder.backbones:
                fusion[bb] = None
    relu, sigmoid = torch.relu, torch.sigmoid
    for path, m in model.named_modules():
        if isinstance(m, ResNet3D):
            if m in fusion:
                on_input(m, fusion[m] or path + ".input")
            on_output(m.bn1, path + ".conv1", relu)
            if m.maxpool is not None:
                on_output(m.maxpool, path + ".maxpool")
            on_output(m, path + ".avgpool")
        elif isinstance(m, (BasicBlock, Bottleneck)):
            on_output(m.bn1, path + ".conv1", relu)
            if isinstance(m, Bottleneck):
                on_output(m.bn2, path + ".conv2", relu)
            on_output(m, path + (".conv3" if isinstance(m, Bottleneck) else ".conv2"))
            if isinstance(m.downsample, ZeroPadShortcut):
                on_output(m.downsample, path + ".downsample")
            elif m.downsample is not None:
                on_output(m.downsample[1], path + ".downsample.0")
        elif isinstance(m, (MLPStack, Tower)):  # experts; towers and the MLP head (a Tower)
            linears = getattr(m, m._linear_name) if isinstance(m, MLPStack) else m.hidden
            stem = "layers" if isinstance(m, MLPStack) else "hidden"
            for i, lin in enumerate(linears):
                on_output(m.norms[i] if len(m.norms) else lin, "%s.%s.%d" % (path, stem, i), m.act)
            if isinstance(m, Tower):
                on_output(m.out, path + ".out", sigmoid)
        elif isinstance(m, Gate):
            for i, lin in enumerate(m.hidden):
                on_output(m.norms[i] if len(m.norms) else lin, "%s.hidden.%d" % (path, i), m.act)
            on_output(m.norm if m.norm is not None else m.out, path + ".out")
            level, task_gate, t = path.rpartition(".task_gates.")
            on_output(m, level + ".task_outputs." + t if task_gate else path[:-len("gate")] + "output")
        elif isinstance(m, PLEHead) and len(m.towers) > 1:
            on_output(m, path + ".probabilities", sigmoid)
    try:
        with torch.no_grad():
            res = model(x)
    finally:
        for h in handles:
            h.remove()
    for name, path, fu, _ in model._networks:
        if fu == "batch" or (fu == "separate" and model.n_phases > 1):
            record((path + "." if path else "") + "features", res["features"][name])
    return res, out


def make_case(case, desc, cfg, batch, size, fp16, seed, out_dir):
    case_seed = (seed * 1000003 + zlib.crc32(case.encode())) % (2 ** 31)
    torch.manual_seed(case_seed)
    gen = torch.Generator().manual_seed(case_seed)
    model = RenalModel(cfg)
    x = torch.randn((batch, len(cfg["phases"])) + size, generator=gen)  # (B, P, D, H, W)
    if fp16:
        _round_fp16(model)
    # 4 cases give late 1x1x1 maps enough values per channel; at 64^3 and more, 2 suffice (and are cheaper)
    condition(model, x, gen, calibration_batch=2 if size[0] * size[1] * size[2] >= 64 ** 3 else 4)
    if fp16:
        _round_fp16(model)
    model.eval()
    with torch.no_grad():
        res = model(x)
    model_path = os.path.join(out_dir, case + ".h5")
    export.save_h5(model, model_path, fp16=fp16)
    # The same weights in float64: the exact answer an fp32 engine is judged against. PyTorch's own
    # fp32 distance from it tells the tests how much rounding the network itself amplifies.
    res64, layers = layer_goldens(copy.deepcopy(model).double(), x.double())
    io_path = os.path.join(out_dir, case + ".io.h5")

    def writer(tmp):
        with h5py.File(tmp, "w") as f:
            f.create_dataset("input", data=x.numpy().astype(np.float32))
            f.create_dataset("probabilities", data=res["probabilities"].numpy().astype(np.float32))
            f.create_dataset("logits", data=res["logits"].numpy().astype(np.float32))
            g = f.create_group("features")
            for name, feat in res["features"].items():
                g.create_dataset(name, data=feat.numpy().astype(np.float32))
            f.create_dataset("probabilities_f64", data=res64["probabilities"].numpy())
            g64 = f.create_group("features_f64")
            for name, feat in res64["features"].items():
                g64.create_dataset(name, data=feat.numpy())
            f.attrs.create("case", case, dtype=h5py.string_dtype("utf-8"))
            f.attrs["seed"] = np.int64(case_seed)
            f.attrs.create("torch_version", torch.__version__, dtype=h5py.string_dtype("utf-8"))

    export._atomic_write(io_path, writer)

    def layer_writer(tmp):
        with h5py.File(tmp, "w") as f:
            for name, v in layers.items():
                f.create_dataset(name, data=v.numpy().astype(np.float32))
            f.attrs.create("case", case, dtype=h5py.string_dtype("utf-8"))
            f.attrs.create("order", json.dumps(list(layers)), dtype=h5py.string_dtype("utf-8"))

    export._atomic_write(os.path.join(out_dir, case + ".layers.h5"), layer_writer)
    logits = res["logits"].numpy()
    return {
        "case": case, "description": desc, "model": case + ".h5", "io": case + ".io.h5",
        "layers": case + ".layers.h5",
        "seed": case_seed, "batch": batch, "phases": cfg["phases"], "input_size": list(size),
        "tasks": [t["name"] for t in cfg["tasks"]], "networks": [n["name"] for n in cfg["networks"]],
        "weights_dtype": "float16" if fp16 else "float32",
        "parameters": int(sum(t.numel() for t in export.model_tensors(model).values())),
        "logit_range": [float(logits.min()), float(logits.max())],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--quick", action="store_true", help="only the %d most important cases" % len(QUICK))
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--only", nargs="*", help="case names to generate (also the paper-size cases %s)"
                    % ", ".join(c[0] for c in extra_cases()))
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    all_cases = cases()
    if args.only:
        all_cases = all_cases + extra_cases()
    names = [c[0] for c in all_cases]
    sel = all_cases
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print("make_fixtures.py: error: unknown case(s) %s; known: %s" % (unknown, names), file=sys.stderr)
            return 2
        sel = [c for c in all_cases if c[0] in args.only]
    elif args.quick:
        sel = [c for c in all_cases if c[0] in QUICK]
    os.makedirs(args.out, exist_ok=True)
    entries = []
    t0 = time.time()
    for case, desc, cfg, batch, size, fp16 in sel:
        t = time.time()
        entries.append(make_case(case, desc, cfg, batch, size, fp16, args.seed, args.out))
        e = entries[-1]
        print("%-24s B=%d %-14s params=%9d logits [%+.2f, %+.2f]  %.2fs"
              % (case, batch, "x".join(map(str, size)), e["parameters"], e["logit_range"][0], e["logit_range"][1],
                 time.time() - t), flush=True)
    manifest = {"seed": args.seed, "torch_version": torch.__version__, "format_version": C.FORMAT_VERSION,
                "cases": entries}
    export.write_text(os.path.join(args.out, "manifest.json"), json.dumps(manifest, indent=1) + "\n")
    print("%d cases in %.1fs -> %s" % (len(entries), time.time() - t0, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
