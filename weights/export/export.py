#!/usr/bin/env python3
"""Export models to the renal-mtl HDF5 weight format (weights/FORMAT.md) and read them back.

Functions
  save_h5(model, path, fp16=False)      RenalModel -> HDF5
  load_h5(path) -> RenalModel           HDF5 -> RenalModel (checks names, shapes, finiteness)
  map_checkpoint(state, config, ...)    foreign state dict (MedicalNet/Hara/MONAI backbone,
                                        DeepCTR-Torch or easezyc PLE) -> (config, FORMAT.md state dict)
  export_checkpoint(ckpt, config, out)  checkpoint file + config JSON -> HDF5

CLI
  export.py --checkpoint model.pth --config config.json --out model.h5 [--fp16]
            [--backbone-prefix NET=PREFIX ...] [--head-prefix NET=PREFIX ...] [--trust-pickle]
  export.py --named r18_3p_96_mtdl --seed 0 [--condition] --out model.h5   (random weights, benchmarks)
  export.py --print-config r18_3p_96_mtdl > config.json                      (a named config's JSON)
  export.py --nnunet MODEL_FOLDER --fold 0 [--checkpoint checkpoint_final.pth] --out seg.h5
            [--tumour-label L] [--kidney-label L] [--phases P[,P...]]      (nnunet_export.py; FORMAT.md
                                                                            "Segmentation models")
Errors: one line on stderr "export.py: error: ...", exit code 2; no partial output file.
"""

import argparse
import json
import os
import re
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from renal_mtl import config as cfgmod  # noqa: E402
from renal_mtl.config import ConfigError  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402

CONFIG_ATTR = "renal_mtl_config"


class ExportError(ValueError):
    """Bad input to the exporter; the message names the file and every problem found."""


def model_tensors(model):
    """FORMAT.md tensors of a model: its state_dict without ``num_batches_tracked``."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def _atomic_write(path, writer):
    """Run writer(tmp_path) then rename onto path, so a failure leaves no partial file."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=os.path.dirname(path))
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path, text):
    """Write a UTF-8 text file atomically."""
    def writer(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _atomic_write(path, writer)


def write_h5(path, config, tensors, fp16=False):
    """Write config + tensors (name -> torch tensor or array) as FORMAT.md HDF5.

    Datasets are contiguous (no chunking, no compression) in the root group, float32 or float16.
    """
    cfgmod.validate(config)
    text = cfgmod.to_json(config)
    dtype = np.float16 if fp16 else np.float32
    bad = []
    arrays = {}
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.ascontiguousarray(a, dtype=dtype)
        if not np.all(np.isfinite(a)):
            bad.append(name)
        arrays[name] = a
    if bad:
        raise ExportError("%s: non-finite values%s in tensors: %s"
                          % (path, " (after float16 rounding)" if fp16 else "", ", ".join(sorted(bad))))

    write_arrays(path, text, arrays)


def write_arrays(path, text, arrays):
    """Write the config text + arrays (name -> contiguous numpy array, stored in its dtype) as FORMAT.md HDF5,
    atomically: root attribute @renal_mtl_config (variable-length UTF-8), contiguous datasets in the root group
    (no chunks, filters or maxshape). Used for classifier and segmentation files alike."""
    def writer(tmp):
        with h5py.File(tmp, "w", libver="earliest") as f:
            f.attrs.create(CONFIG_ATTR, text, dtype=h5py.string_dtype("utf-8"))
            for name in sorted(arrays):
                f.create_dataset(name, data=arrays[name])  # contiguous: no chunks/filters/maxshape

    _atomic_write(path, writer)


def save_h5(model, path, fp16=False):
    """Write a RenalModel to path (float32, or float16 with fp16=True)."""
    write_h5(path, model.config, model_tensors(model), fp16=fp16)


def read_h5(path):
    """(config dict, {name: float32 numpy array}) of a FORMAT.md file, no consistency checks."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ExportError("%s: not a readable HDF5 file (%s)" % (path, e))
    with f:
        if CONFIG_ATTR not in f.attrs:
            raise ExportError("%s: root attribute @%s is missing" % (path, CONFIG_ATTR))
        raw = f.attrs[CONFIG_ATTR]
        if isinstance(raw, np.ndarray) and raw.shape == ():
            raw = raw[()]
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        if not isinstance(raw, str):
            raise ExportError("%s: @%s is not a string" % (path, CONFIG_ATTR))
        try:
            config = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ExportError("%s: @%s is not valid JSON (%s)" % (path, CONFIG_ATTR, e))
        tensors, others = {}, []
        for name, obj in f.items():
            if isinstance(obj, h5py.Dataset):
                tensors[name] = np.asarray(obj[()], dtype=np.float32)
            else:
                others.append(name)
        if others:
            raise ExportError("%s: unexpected groups in the root group: %s" % (path, ", ".join(others)))
    return config, tensors


def check_tensors(where, expected, tensors):
    """Compare tensors (name -> array) with expected (name -> shape); raise listing every problem."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    misshaped = sorted("%s %s (expected %s)" % (k, tuple(tensors[k].shape), tuple(expected[k]))
                       for k in set(expected) & set(tensors) if tuple(tensors[k].shape) != tuple(expected[k]))
    nonfinite = sorted(k for k in set(expected) & set(tensors)
                       if not np.all(np.isfinite(np.asarray(tensors[k], dtype=np.float32))))
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("misshaped", misshaped),
                         ("non-finite", nonfinite)):
        if items:
            parts.append("%d %s: %s" % (len(items), label, ", ".join(items)))
    if parts:
        raise ExportError("%s: %s" % (where, "; ".join(parts)))


def build_model(config, tensors, where):
    """A RenalModel (eval mode) for config holding tensors; every tensor is checked first."""
    try:
        model = RenalModel(config)
    except ConfigError as e:
        raise ExportError("%s: %s" % (where, e))
    expected = {k: tuple(v.shape) for k, v in model_tensors(model).items()}
    check_tensors(where, expected, tensors)
    state = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()}
    result = model.load_state_dict(state, strict=False)
    left = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if left or result.unexpected_keys:
        raise ExportError("%s: load_state_dict left %s / unexpected %s" % (where, left, result.unexpected_keys))
    return model.eval()


def load_h5(path):
    """Read a FORMAT.md file into a RenalModel in eval mode (float32, float16 files are widened)."""
    config, tensors = read_h5(path)
    return build_model(config, tensors, path)


# ---------------------------------------------------------------------------------------------
# Mapping foreign checkpoints onto FORMAT.md names
# ---------------------------------------------------------------------------------------------

_BACKBONE_KEEP = re.compile(r"^(conv1\.|bn1\.|layer[1-4]\.)")
_BACKBONE_DROP = re.compile(r"^(fc|conv_seg)\.")
_BN_PARAMS = "(weight|bias|running_mean|running_var)"

#: marker key (relative to a head prefix) -> layout name
_HEAD_MARKERS = (
    ("specific_experts.0.0.0.linears.0.weight", "deepctr"),
    ("task_experts.0.0.0.mlp.0.weight", "easezyc"),
    ("expert.0.0.mlp.0.weight", "easezyc-flat"),
    ("levels.0.task_experts.0.0.layers.0.weight", "renal-mtl"),
)


def normalise_state(obj, where):
    """Unwrap ``state_dict``/``model`` wrappers and modules, strip ``module.``, drop num_batches_tracked."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for wrapper in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and wrapper in obj and isinstance(obj[wrapper], dict):
            obj = obj[wrapper]
            break
    if not isinstance(obj, dict):
        raise ExportError("%s: expected a state dict (or {'state_dict': ...}), got %s" % (where, type(obj).__name__))
    out, bad = {}, []
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            bad.append(str(k))
            continue
        while k.startswith("module."):
            k = k[len("module."):]
        if k.endswith("num_batches_tracked"):
            continue
        if k in out:
            raise ExportError("%s: key %r occurs twice after stripping 'module.'" % (where, k))
        out[k] = v.detach().float().cpu()
    if bad:
        raise ExportError("%s: entries that are not tensors: %s" % (where, ", ".join(sorted(bad))))
    return out


def _under(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _count(keys, pattern):
    """Number of distinct values of the first group of pattern over keys (indices 0..n-1 expected)."""
    found = {int(m.group(1)) for m in (re.match(pattern, k) for k in keys) if m}
    return max(found) + 1 if found else 0


def _linear_widths(sub, pattern):
    """Output widths of Linear layers pattern.format(i) for i = 0, 1, ... while present."""
    widths, i = [], 0
    while pattern.format(i) in sub:
        widths.append(int(sub[pattern.format(i)].shape[0]))
        i += 1
    return widths


class _HeadMapping:
    """Result of mapping one foreign head: FORMAT names (relative to ``head.``) and the head config."""

    def __init__(self):
        self.tensors = {}      # FORMAT name under head. -> tensor
        self.claimed = set()   # source keys (relative to the head prefix) handled (mapped or dropped)
        self.dropped = []      # source keys not used by the original forward either
        self.problems = []     # structures FORMAT v1 cannot express
        self.unrepresentable = {}  # reason -> source keys FORMAT v1 has no place for
        self.config = None


def _map_deepctr(sub):
    r = _HeadMapping()
    keys = list(sub)
    levels = _count(keys, r"^specific_experts\.(\d+)\.")
    n_tasks = _count(keys, r"^specific_experts\.0\.(\d+)\.")
    m = _count(keys, r"^specific_experts\.0\.0\.(\d+)\.")
    s = _count(keys, r"^shared_experts\.0\.(\d+)\.")
    rules = [
        (r"^specific_experts\.(\d+)\.(\d+)\.(\d+)\.linears\.(\d+)\.(weight|bias)$",
         "levels.{0}.task_experts.{1}.{2}.layers.{3}.{4}"),
        (r"^specific_experts\.(\d+)\.(\d+)\.(\d+)\.bn\.(\d+)\.%s$" % _BN_PARAMS,
         "levels.{0}.task_experts.{1}.{2}.norms.{3}.{4}"),
        (r"^shared_experts\.(\d+)\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "levels.{0}.shared_experts.{1}.layers.{2}.{3}"),
        (r"^shared_experts\.(\d+)\.(\d+)\.bn\.(\d+)\.%s$" % _BN_PARAMS, "levels.{0}.shared_experts.{1}.norms.{2}.{3}"),
        (r"^specific_gate_dnn\.(\d+)\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "levels.{0}.task_gates.{1}.hidden.{2}.{3}"),
        (r"^specific_gate_dnn_final_layer\.(\d+)\.(\d+)\.weight$", "levels.{0}.task_gates.{1}.out.weight"),
        (r"^shared_gate_dnn\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "levels.{0}.shared_gate.hidden.{1}.{2}"),
        (r"^shared_gate_dnn_final_layer\.(\d+)\.weight$", "levels.{0}.shared_gate.out.weight"),
        (r"^tower_dnn\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "towers.{0}.hidden.{1}.{2}"),
        (r"^tower_dnn\.(\d+)\.bn\.(\d+)\.%s$" % _BN_PARAMS, "towers.{0}.norms.{1}.{2}"),
        (r"^tower_dnn_final_layer\.(\d+)\.weight$", "towers.{0}.out.weight"),
        (r"^out\.(\d+)\.bias$", "towers.{0}.out.bias"),
    ]
    for k in keys:
        if re.match(r"^(specific|shared)_gate_dnn\.\d+\.(\d+\.)?bn\.", k):
            r.unrepresentable.setdefault("BatchNorm in a gate's hidden layers", []).append(k)
            r.claimed.add(k)
            continue
        for pat, tpl in rules:
            mt = re.match(pat, k)
            if mt:
                r.claimed.add(k)
                if "shared_gate" in tpl and int(mt.group(1)) == levels - 1:
                    r.dropped.append(k)  # DeepCTR builds a shared gate for the last level but never uses it
                else:
                    r.tensors[tpl.format(*mt.groups())] = sub[k]
                break
    r.config = {
        "type": "ple", "levels": levels, "task_experts": m, "shared_experts": s,
        "expert_hidden": _linear_widths(sub, "specific_experts.0.0.0.linears.{}.weight"),
        "expert_bn": any(re.match(r"^(specific|shared)_experts\..*\.bn\.", k) for k in keys),
        "gate": {"hidden": _linear_widths(sub, "specific_gate_dnn.0.0.linears.{}.weight"), "bias": False, "bn": False},
        "tower": {"hidden": _linear_widths(sub, "tower_dnn.0.linears.{}.weight"),
                  "bn": any(re.match(r"^tower_dnn\.\d+\.bn\.", k) for k in keys),
                  "bias": "out.0.bias" in sub},
    }
    return r, n_tasks


def _easezyc_mlp(sub, src, dst, r, with_output):
    """Map an easezyc MultiLayerPerceptron (Linear, BN, ReLU, Dropout)* [+ Linear] at src onto dst.

    Returns the hidden widths. With with_output the trailing Linear becomes ``out``."""
    widths, k = [], 0
    while "%s.mlp.%d.weight" % (src, k) in sub and "%s.mlp.%d.running_mean" % (src, k + 1) in sub:
        i = len(widths)
        widths.append(int(sub["%s.mlp.%d.weight" % (src, k)].shape[0]))
        lin, bn = ("hidden", "norms") if with_output else ("layers", "norms")
        for p in ("weight", "bias"):
            key = "%s.mlp.%d.%s" % (src, k, p)
            if key in sub:
                r.tensors["%s.%s.%d.%s" % (dst, lin, i, p)] = sub[key]
                r.claimed.add(key)
        for p in ("weight", "bias", "running_mean", "running_var"):
            key = "%s.mlp.%d.%s" % (src, k + 1, p)
            if key in sub:
                r.tensors["%s.%s.%d.%s" % (dst, bn, i, p)] = sub[key]
                r.claimed.add(key)
        k += 4
    if with_output:
        for p in ("weight", "bias"):
            key = "%s.mlp.%d.%s" % (src, k, p)
            if key in sub:
                r.tensors["%s.out.%s" % (dst, p)] = sub[key]
                r.claimed.add(key)
    return widths


def _easezyc_common(r, levels, per_level, n_tasks, m, s, sub, tower_src):
    if len({tuple(w) for w in per_level}) > 1:
        r.problems.append("easezyc experts have per-level widths %s; format v1 has one expert_hidden for all "
                          "levels" % [list(w) for w in per_level])
    tower_hidden = []
    for t in range(n_tasks):
        w = _easezyc_mlp(sub, tower_src.format(t), "towers.%d" % t, r, True)
        tower_hidden = tower_hidden or w
    r.config = {
        "type": "ple", "levels": levels, "task_experts": m, "shared_experts": s,
        "expert_hidden": list(per_level[0]) if per_level else [], "expert_bn": True,
        "gate": {"hidden": [], "bias": True, "bn": False},
        "tower": {"hidden": tower_hidden, "bn": True, "bias": True},
    }


def _map_easezyc(sub):
    """easezyc layout with task_experts/share_experts/task_gates/share_gates/tower (ENGINEERING.md §1)."""
    r = _HeadMapping()
    keys = list(sub)
    levels = _count(keys, r"^task_experts\.(\d+)\.")
    n_tasks = _count(keys, r"^task_experts\.0\.(\d+)\.")
    m = _count(keys, r"^task_experts\.0\.0\.(\d+)\.")
    s = _count(keys, r"^share_experts\.0\.(\d+)\.")
    per_level = []
    for lv in range(levels):
        widths = None
        for t in range(n_tasks):
            for e in range(m):
                widths = _easezyc_mlp(sub, "task_experts.%d.%d.%d" % (lv, t, e),
                                      "levels.%d.task_experts.%d.%d" % (lv, t, e), r, False)
        for e in range(s):
            _easezyc_mlp(sub, "share_experts.%d.%d" % (lv, e), "levels.%d.shared_experts.%d" % (lv, e), r, False)
        per_level.append(widths or [])
        for t in range(n_tasks):
            for p in ("weight", "bias"):
                key = "task_gates.%d.%d.0.%s" % (lv, t, p)
                if key in sub:
                    r.tensors["levels.%d.task_gates.%d.out.%s" % (lv, t, p)] = sub[key]
                    r.claimed.add(key)
        for p in ("weight", "bias"):
            key = "share_gates.%d.0.%s" % (lv, p)
            if key in sub:
                r.claimed.add(key)
                if lv == levels - 1:
                    r.dropped.append(key)  # the last level's shared gate is never used
                else:
                    r.tensors["levels.%d.shared_gate.out.%s" % (lv, p)] = sub[key]
    _easezyc_common(r, levels, per_level, n_tasks, m, s, sub, "tower.{}")
    return r, n_tasks


def _map_easezyc_flat(sub):
    """Newer easezyc layout: ``expert.{l}.{i}`` (task-major then shared) and ``gate.{l}.{j}`` (tasks, shared)."""
    r = _HeadMapping()
    keys = list(sub)
    levels = _count(keys, r"^expert\.(\d+)\.")
    n_gates = _count(keys, r"^gate\.0\.(\d+)\.")
    n_tasks = n_gates - 1
    n_exp = _count(keys, r"^expert\.0\.(\d+)\.")
    per_task = int(sub["gate.0.0.0.weight"].shape[0]) if "gate.0.0.0.weight" in sub else 0
    if n_tasks < 2 or per_task < 1:
        r.problems.append("easezyc expert./gate. layout: cannot tell task and shared expert counts apart "
                          "(%d gates, %d outputs per task gate)" % (n_gates, per_task))
        m, s = 0, 0
    else:
        m = (n_exp - per_task) // (n_tasks - 1)
        s = per_task - m
    if levels > 1:
        r.problems.append("easezyc expert./gate. layout with %d levels feeds each task's input to the shared "
                          "experts at levels > 1, which format v1 cannot express (1 level maps exactly)" % levels)
    per_level = []
    for lv in range(levels):
        widths = None
        for i in range(n_exp):
            dst = ("levels.%d.task_experts.%d.%d" % (lv, i // m, i % m)) if m and i < n_tasks * m \
                else "levels.%d.shared_experts.%d" % (lv, i - n_tasks * m)
            w = _easezyc_mlp(sub, "expert.%d.%d" % (lv, i), dst, r, False)
            widths = widths or w
        per_level.append(widths or [])
        for j in range(n_gates):
            for p in ("weight", "bias"):
                key = "gate.%d.%d.0.%s" % (lv, j, p)
                if key not in sub:
                    continue
                r.claimed.add(key)
                if j < n_tasks:
                    r.tensors["levels.%d.task_gates.%d.out.%s" % (lv, j, p)] = sub[key]
                elif lv == levels - 1:
                    r.dropped.append(key)
                else:
                    r.tensors["levels.%d.shared_gate.out.%s" % (lv, p)] = sub[key]
    _easezyc_common(r, levels, per_level, n_tasks, m, s, sub, "tower.{}")
    return r, n_tasks


def _map_own_head(sub, head_cfg):
    r = _HeadMapping()
    pat = r"^(levels|towers)\." if head_cfg["type"] == "ple" else r"^(hidden|norms|out)\."
    for k, v in sub.items():
        if re.match(pat, k):
            r.tensors[k] = v
            r.claimed.add(k)
    r.config = head_cfg
    return r, None


def detect_head(state, prefix=None):
    """(prefix, layout) of the one PLE head in state, or of the head under the given prefix."""
    found = []
    for k in state:
        for marker, layout in _HEAD_MARKERS:
            if k.endswith(marker):
                p = k[:-len(marker)]
                if prefix is None or p == prefix:
                    found.append((p, layout))
    return sorted(set(found))


def detect_backbones(state):
    """Prefixes under which a ResNet (``conv1.weight`` + ``layer1.0.conv1.weight``) lives, sorted."""
    marker = "layer1.0.conv1.weight"
    out = [k[:-len(marker)] for k in state if k.endswith(marker) and k[:-len(marker)] + "conv1.weight" in state]
    return sorted(out, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)])


def _diff(where, old, new, notes):
    if isinstance(old, dict) and isinstance(new, dict):
        for k in new:
            if k in old:
                _diff("%s.%s" % (where, k), old[k], new[k], notes)
    elif old != new:
        notes.append("%s: config says %s, the checkpoint has %s; using the checkpoint" % (where, json.dumps(old),
                                                                                       json.dumps(new)))


def map_checkpoint(state, config, backbone_prefixes=None, head_prefixes=None, drop=None, where="checkpoint"):
    """Map a (normalised) foreign state dict onto FORMAT.md names for config.

    backbone_prefixes: {network name: [source prefix per backbone]} (one, or one per phase for fusion
    ``separate``); head_prefixes: {network name: source prefix}. Missing entries are detected: a
    single-network model takes the only ResNet / PLE head found; otherwise FORMAT.md's own names
    (``<prefix>backbone.``, ``<prefix>head.``) are used when present. drop: regular expressions of
    source keys to ignore. Returns (config, tensors, notes); raises ExportError listing every
    unmapped, unrepresentable, missing, misshaped or non-finite tensor at once.
    """
    config = json.loads(json.dumps(config))
    try:
        cfgmod.validate(config)
    except ConfigError as e:
        raise ExportError("config: %s" % e)
    backbone_prefixes = dict(backbone_prefixes or {})
    head_prefixes = dict(head_prefixes or {})
    drop = [re.compile(d) for d in (drop or [])]
    nets = config["networks"]
    n_phases = len(config["phases"])
    found_bb = detect_backbones(state)
    problems, notes, dropped = [], [], []
    claimed = set()
    tensors = {}
    for net in nets:
        name, tp = net["name"], net["prefix"]
        n_bb = n_phases if net["fusion"] == "separate" else 1
        targets = ["%sbackbones.%d." % (tp, i) for i in range(n_bb)] if net["fusion"] == "separate" \
            else ["%sbackbone." % tp]
        srcs = backbone_prefixes.get(name)
        if srcs is None:
            if all(t in found_bb for t in targets):
                srcs = targets
            elif len(nets) == 1 and len(found_bb) == n_bb:
                srcs = found_bb
            else:
                problems.append("network %r: cannot tell which of the ResNets found (%s) are its %d backbone(s); "
                                "name them with --backbone-prefix %s=PREFIX[,PREFIX...]"
                                % (name, ", ".join(repr(p) for p in found_bb) or "none", n_bb, name))
                srcs = []
        elif len(srcs) != n_bb:
            problems.append("network %r needs %d backbone prefixes, got %d" % (name, n_bb, len(srcs)))
            srcs = []
        has_bias = False
        for src, dst in zip(srcs, targets):
            sub = _under(state, src)
            if not any(k.startswith("layer1.") for k in sub):
                problems.append("network %r: no ResNet under prefix %r" % (name, src))
            for k, v in sub.items():
                if _BACKBONE_DROP.match(k):
                    claimed.add(src + k)
                    dropped.append(src + k)
                elif _BACKBONE_KEEP.match(k):
                    claimed.add(src + k)
                    tensors[dst + k] = v
                    has_bias = has_bias or k.endswith("downsample.0.bias")
        if srcs:
            _diff("networks[%s].backbone.downsample_bias" % name, net["backbone"]["downsample_bias"], has_bias, notes)
            net["backbone"]["downsample_bias"] = has_bias
        # head
        hp = head_prefixes.get(name)
        own = tp + "head."
        if hp is None:
            heads = detect_head(state)
            if net["head"]["type"] == "mlp" or any(p == own and lay == "renal-mtl" for p, lay in heads):
                hp, layout = own, "renal-mtl"
            elif len(nets) == 1 and len(heads) == 1:
                hp, layout = heads[0]
            else:
                problems.append("network %r: cannot tell which PLE head is its own (found %s); name it with "
                                "--head-prefix %s=PREFIX" % (name, ", ".join(repr(h) for h in heads) or "none", name))
                continue
        else:
            heads = detect_head(state, hp)
            layout = heads[0][1] if heads else "renal-mtl"
        sub = _under(state, hp)
        if layout == "deepctr":
            hm, n_tasks = _map_deepctr(sub)
        elif layout == "easezyc":
            hm, n_tasks = _map_easezyc(sub)
        elif layout == "easezyc-flat":
            hm, n_tasks = _map_easezyc_flat(sub)
        else:
            hm, n_tasks = _map_own_head(sub, net["head"])
        if n_tasks is not None and n_tasks != len(net["tasks"]):
            problems.append("network %r: the %s head under %r predicts %d tasks, the config names %d"
                            % (name, layout, hp, n_tasks, len(net["tasks"])))
        problems.extend("network %r head under %r: %s" % (name, hp, p) for p in hm.problems)
        for reason, keys in sorted(hm.unrepresentable.items()):
            problems.append("network %r: %s is not in format v1: %s" % (name, reason, ", ".join(hp + k for k in keys)))
        if layout != "renal-mtl":
            _diff("networks[%s].head" % name, net["head"], hm.config, notes)
            net["head"] = hm.config
            notes.append("network %r: head mapped from the %s layout under prefix %r" % (name, layout, hp))
        claimed.update(hp + k for k in hm.claimed)
        dropped.extend(hp + k for k in hm.dropped)
        for k, v in hm.tensors.items():
            tensors[own + k] = v
    unmapped = sorted(k for k in state if k not in claimed and not any(d.search(k) for d in drop))
    if unmapped:
        problems.append("%d unmapped source keys: %s" % (len(unmapped), ", ".join(unmapped)))
    if dropped:
        notes.append("dropped (fc/conv_seg, or unused by the original forward): %s" % ", ".join(sorted(dropped)))
    try:
        cfgmod.validate(config)
        model = RenalModel(config)
        expected = {k: tuple(v.shape) for k, v in model_tensors(model).items()}
        check_tensors("mapped tensors", expected, {k: v.numpy() for k, v in tensors.items()})
    except (ConfigError, ExportError) as e:
        problems.append(str(e))
    if problems:
        raise ExportError("%s: %s" % (where, " | ".join(problems)))
    return config, tensors, notes


def load_checkpoint(path, trust_pickle=False):
    """Normalised state dict of a .pt/.pth file (weights_only unless trust_pickle)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except FileNotFoundError:
        raise ExportError("%s: no such file" % path)
    except Exception as e:  # torch raises many types for corrupt / unsafe pickles
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = "" if trust_pickle else " (if you trust the file, retry with --trust-pickle)"
        raise ExportError("%s: cannot load checkpoint: %s%s" % (path, msg, hint))
    return normalise_state(obj, path)


def export_checkpoint(checkpoint, config_path, out, fp16=False, backbone_prefixes=None, head_prefixes=None,
                      drop=None, trust_pickle=False):
    """Checkpoint file + config JSON file -> FORMAT.md HDF5 at out. Returns the notes of the mapping."""
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ExportError("%s: cannot read config JSON: %s" % (config_path, e))
    if isinstance(config, dict):
        config["producer"] = cfgmod.producer()
    state = load_checkpoint(checkpoint, trust_pickle)
    config, tensors, notes = map_checkpoint(state, config, backbone_prefixes, head_prefixes, drop, where=checkpoint)
    write_h5(out, config, tensors, fp16=fp16)
    return notes


def _prefix_args(values, option, split):
    out = {}
    for v in values or []:
        if "=" not in v:
            raise ExportError("%s %r: expected NETWORK=PREFIX" % (option, v))
        name, pfx = v.split("=", 1)
        out[name] = pfx.split(",") if split else pfx
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="export.py", description="Export a model to renal-mtl HDF5 (FORMAT.md).")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--nnunet", metavar="MODEL_FOLDER",
                     help="an nnU-Net v2 trained-model folder (plans.json, dataset.json, fold_N/): write one fold "
                          "as a segmentation file (FORMAT.md, 'Segmentation models')")
    ap.add_argument("--checkpoint", help=".pt/.pth state dict (optionally {'state_dict': ...}, 'module.' prefixes); "
                                         "with --nnunet the checkpoint's file name in fold_N (default "
                                         "checkpoint_final.pth)")
    ap.add_argument("--fold", default="0", help="with --nnunet: the fold (an integer or 'all'; default 0)")
    ap.add_argument("--tumour-label", help="with --nnunet: the dataset.json label that is the tumour (renal_mtl block)")
    ap.add_argument("--kidney-label", help="with --nnunet: the dataset.json label that is the kidney (renal_mtl block)")
    ap.add_argument("--phases", help="with --nnunet: comma-separated phase of each input channel (renal_mtl block)")
    src.add_argument("--named", choices=sorted(cfgmod.NAMED), help="a named config with seeded random weights")
    src.add_argument("--print-config", choices=sorted(cfgmod.NAMED), help="print a named config's JSON and exit")
    ap.add_argument("--config", help="config JSON (FORMAT.md) describing the checkpoint's model")
    ap.add_argument("--out", help="output .h5")
    ap.add_argument("--fp16", action="store_true", help="store tensors as float16")
    ap.add_argument("--seed", type=int, default=0, help="seed for --named")
    ap.add_argument("--condition", action="store_true",
                    help="with --named: condition the random weights on a seeded random input (BN statistics, "
                         "logit scale; see renal_mtl/conditioning.py) so outputs are not degenerate")
    ap.add_argument("--backbone-prefix", action="append", metavar="NET=PREFIX[,PREFIX...]",
                    help="source prefix of a network's backbone(s) (one per phase for fusion separate)")
    ap.add_argument("--head-prefix", action="append", metavar="NET=PREFIX", help="source prefix of a network's head")
    ap.add_argument("--drop", action="append", metavar="REGEX", help="ignore source keys matching REGEX")
    ap.add_argument("--trust-pickle", action="store_true", help="torch.load with weights_only=False")
    args = ap.parse_args(argv)
    if args.print_config:
        print(cfgmod.to_json(cfgmod.NAMED[args.print_config]()))
        return 0
    if not (args.nnunet or args.named or args.checkpoint):
        ap.error("one of --checkpoint, --named, --nnunet, --print-config is required")
    if args.named and args.checkpoint:
        ap.error("--checkpoint and --named are alternatives")
    if not args.out:
        ap.error("--out is required")
    if args.nnunet:
        return _main_nnunet(args)
    try:
        if args.named:
            torch.manual_seed(args.seed)
            model = RenalModel(cfgmod.NAMED[args.named]()).eval()
            if args.condition:
                from renal_mtl.conditioning import condition
                gen = torch.Generator().manual_seed(args.seed)
                x = torch.randn([2, model.n_phases] + model.config["input"]["size"], generator=gen)
                condition(model, x, gen, calibration_batch=2)
            save_h5(model, args.out, fp16=args.fp16)
            notes = []
        else:
            if not args.config:
                raise ExportError("--checkpoint needs --config CONFIG.json")
            notes = export_checkpoint(args.checkpoint, args.config, args.out, args.fp16,
                                      _prefix_args(args.backbone_prefix, "--backbone-prefix", True),
                                      _prefix_args(args.head_prefix, "--head-prefix", False), args.drop,
                                      args.trust_pickle)
    except ExportError as e:
        print("export.py: error: %s" % e, file=sys.stderr)
        return 2
    for n in notes:
        print("export.py: note: %s" % n, file=sys.stderr)
    print("wrote %s" % args.out)
    return 0


def _main_nnunet(args):
    import nnunet_export
    fold = args.fold
    if fold != "all" and not re.fullmatch(r"[0-9]+", fold):
        print("export.py: error: --fold %r: expected an integer or 'all'" % fold, file=sys.stderr)
        return 2
    renal = {"tumour_label": args.tumour_label, "kidney_label": args.kidney_label,
             "phases": [p for p in args.phases.split(",")] if args.phases else None}
    try:
        config = nnunet_export.export_nnunet(args.nnunet, fold, args.out, args.checkpoint or "checkpoint_final.pth",
                                             args.trust_pickle, renal if any(renal.values()) else None)
    except (nnunet_export.NnUnetError, ExportError) as e:
        print("export.py: error: %s" % e, file=sys.stderr)
        return 2
    net = config["network"]
    print("wrote %s (%s, %d stages, %d input channel(s), %d output channel(s))"
          % (args.out, net["class"], len(net["features_per_stage"]), net["input_channels"], net["num_classes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
