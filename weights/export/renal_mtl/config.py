"""Model configuration (the JSON stored as ``@renal_mtl_config``, FORMAT.md) and named builders.

A config is a plain ``dict`` that serialises to the JSON of FORMAT.md. :func:`validate` (schema.py, re-exported
here with the schema's constants) checks it the way the Java reader does (before any tensor is built) and
raises :class:`ConfigError` listing every problem at once; :func:`settle_version` gives it the lowest format
version that holds it.
"""

import copy
import json

import torch

from .schema import (ACTIVATIONS, BLOCKS, FLAVOURS, FORMAT, FORMAT_VERSION, FORMAT_VERSIONS,  # noqa: F401
                     FUSIONS, LEAKY_RELU_SLOPE, SHORTCUTS, ConfigError, validate, version2_fields)

#: tasks of the paper in their canonical order, with FORMAT.md's meanings
PAPER_TASKS = (
    {"name": "ccrcc", "positive": "clear-cell RCC", "negative": "other histology", "threshold": 0.5},
    {"name": "stage", "positive": "stage III/IV", "negative": "stage I/II", "threshold": 0.5},
    {"name": "renal", "positive": "high R.E.N.A.L. complexity", "negative": "low-intermediate",
     "threshold": 0.5},
)

PHASES_3 = ("arterial", "venous", "delayed")


def producer():
    """The ``producer`` string written into configs made here."""
    return "renal-mtl export.py (torch %s)" % torch.__version__


def expansion(depth):
    """Channel expansion of the residual block used for ``depth`` (Bottleneck = 4)."""
    return 4 if depth >= 50 else 1


def backbone_features(backbone):
    """F: features per volume after global average pooling."""
    return int(backbone["widths"][-1]) * expansion(int(backbone["depth"]))


def fused_features(network, n_phases):
    """Width of the fused feature vector the head reads (FORMAT.md "Phase fusion")."""
    f = backbone_features(network["backbone"])
    return f if network["fusion"] == "channels" else n_phases * f


def resnet_backbone(depth=18, flavour="hara", in_channels=1, widths=(64, 128, 256, 512),
                    stem_kernel=(7, 7, 7), stem_stride=(2, 2, 2), stem_padding=(3, 3, 3), max_pool=True,
                    strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), shortcut="B", downsample_bias=False):
    """A ``networks[].backbone`` dict; defaults are the Hara-style ResNet of R18-3P-96."""
    return {
        "type": "resnet3d", "depth": int(depth), "flavour": flavour,
        "in_channels": int(in_channels),
        "widths": [int(w) for w in widths],
        "stem": {"kernel": [int(k) for k in stem_kernel], "stride": [int(s) for s in stem_stride],
                 "padding": [int(p) for p in stem_padding], "max_pool": bool(max_pool)},
        "strides": [int(s) for s in strides],
        "dilations": [int(d) for d in dilations],
        "shortcut": shortcut,
        "downsample_bias": bool(downsample_bias),
    }


def _with_activation(head, activation, negative_slope):
    """Adds the version-2 activation fields when they differ from ReLU (version-1 heads stay as they were)."""
    if activation != "relu":
        head["activation"] = activation
    if activation == "leaky_relu" and negative_slope is not None:
        head["negative_slope"] = float(negative_slope)
    return head


def ple_head(levels=2, task_experts=2, shared_experts=2, expert_hidden=(256, 128), expert_bn=False,
             gate_hidden=(), gate_bias=True, gate_bn=False, tower_hidden=(64,), tower_bn=False,
             tower_bias=True, activation="relu", negative_slope=None, gate_hidden_bn=False):
    """A PLE ``networks[].head`` dict.

    expert_hidden: widths for every level, or one list of widths per level (version 2, e.g. easezyc's
    ``bottom_mlp_dims=(512, 256)`` is ``[[512], [256]]``)."""
    per_level = [list(map(int, w)) for w in expert_hidden] if expert_hidden and not isinstance(
        expert_hidden[0], int) else None
    gate = {"hidden": [int(h) for h in gate_hidden], "bias": bool(gate_bias), "bn": bool(gate_bn)}
    if gate_hidden_bn:
        gate["hidden_bn"] = True
    return _with_activation({
        "type": "ple", "levels": int(levels), "task_experts": int(task_experts),
        "shared_experts": int(shared_experts),
        "expert_hidden": per_level if per_level is not None else [int(h) for h in expert_hidden],
        "expert_bn": bool(expert_bn),
        "gate": gate,
        "tower": {"hidden": [int(h) for h in tower_hidden], "bn": bool(tower_bn), "bias": bool(tower_bias)},
    }, activation, negative_slope)


def mlp_head(hidden=(256, 64), bn=False, bias=True, activation="relu", negative_slope=None):
    """An MLP (single-task) ``networks[].head`` dict."""
    return _with_activation({"type": "mlp", "hidden": [int(h) for h in hidden], "bn": bool(bn), "bias": bool(bias)},
                            activation, negative_slope)


def expert_widths(head, level):
    """The expert widths of one PLE level (``expert_hidden`` is one list for all levels, or one per level)."""
    eh = head["expert_hidden"]
    return list(eh[level]) if eh and isinstance(eh[0], list) else list(eh)


def activation(head):
    """(name, negative slope) of a head's hidden layers; ReLU when the field is absent (version 1)."""
    kind = head.get("activation", "relu")
    return kind, float(head.get("negative_slope", LEAKY_RELU_SLOPE)) if kind == "leaky_relu" else 0.0


def settle_version(cfg):
    """Drop version-2 fields that hold their defaults, then set the lowest format_version that holds cfg.

    A ReLU head, per-level widths that are all equal and ``hidden_bn: false`` are written as version 1, so
    that such a file reads the same in every engine; anything else needs version 2, which a version-1
    reader refuses instead of silently running ReLU or the wrong widths."""
    version = 1
    for net in cfg.get("networks", []):
        head = net.get("head") if isinstance(net, dict) else None
        if not isinstance(head, dict):
            continue
        if head.get("activation") == "relu":
            head.pop("activation")
        if head.get("activation", "relu") != "leaky_relu":
            head.pop("negative_slope", None)
        eh = head.get("expert_hidden")
        if isinstance(eh, list) and eh and isinstance(eh[0], list) and all(w == eh[0] for w in eh):
            head["expert_hidden"] = list(eh[0])
        gate = head.get("gate")
        if isinstance(gate, dict) and gate.get("hidden_bn") is False:
            gate.pop("hidden_bn")
        if version2_fields(head):
            version = 2
    cfg["format_version"] = version
    return cfg


def model_config(name, networks, tasks=PAPER_TASKS, phases=PHASES_3, size=(96, 96, 96),
                 spacing_mm=(1.0, 1.0, 1.0), margin_mm=10.0, hu_window=(-200.0, 300.0),
                 normalisation="zscore", mean=60.0, std=80.0):
    """A whole config; ``networks`` is a list of ``networks[]`` dicts."""
    pre = {"hu_window": [float(v) for v in hu_window], "normalisation": normalisation}
    if normalisation == "zscore":
        pre["mean"] = float(mean)
        pre["std"] = float(std)
    cfg = {
        "format": FORMAT, "format_version": 1, "producer": producer(), "name": name,
        "phases": list(phases),
        "tasks": [dict(t) for t in tasks],
        "input": {"size": [int(s) for s in size], "spacing_mm": [float(s) for s in spacing_mm],
                  "margin_mm": float(margin_mm)},
        "preprocessing": pre,
        "networks": copy.deepcopy(list(networks)),
    }
    validate(settle_version(cfg))
    return cfg


def r18_3p_96_mtdl():
    """R18-3P-96 MTDL: Hara-style ResNet-18 over 3 phases (batch fusion) and a 2-level PLE head."""
    net = {"name": "mtdl", "prefix": "", "tasks": [t["name"] for t in PAPER_TASKS], "fusion": "batch",
           "backbone": resnet_backbone(),
           "head": ple_head(levels=2, task_experts=2, shared_experts=2, expert_hidden=(256, 128),
                            gate_hidden=(), gate_bias=True, tower_hidden=(64,))}
    return model_config("R18-3P-96 MTDL", [net])


def r18_3p_96_stdl():
    """R18-3P-96 STDL: three single-task networks (prefixes ``ccrcc.``, ``stage.``, ``renal.``)."""
    nets = [{"name": t["name"], "prefix": t["name"] + ".", "tasks": [t["name"]], "fusion": "batch",
             "backbone": resnet_backbone(), "head": mlp_head(hidden=(256, 64))} for t in PAPER_TASKS]
    return model_config("R18-3P-96 STDL", nets)


NAMED = {"r18_3p_96_mtdl": r18_3p_96_mtdl, "r18_3p_96_stdl": r18_3p_96_stdl}


def to_json(cfg):
    """Canonical JSON text of a config (UTF-8 safe, stable key order as built)."""
    return json.dumps(cfg, ensure_ascii=False, indent=1)


