"""nnU-Net v2 trained-model folder -> renal-mtl segmentation HDF5 (FORMAT.md "Segmentation models").

  export.py --nnunet MODEL_FOLDER --fold 0 [--checkpoint checkpoint_final.pth] --out seg.h5
            [--tumour-label tumor] [--kidney-label kidney] [--phases venous[,arterial...]] [--trust-pickle]

MODEL_FOLDER is what nnU-Net writes for one trainer/plans/configuration (``Dataset.../nnUNetTrainer__nnUNetPlans__
3d_fullres``): ``plans.json``, ``dataset.json``, ``fold_N/<checkpoint>``. As ``nnUNetPredictor`` does, the
configuration is the checkpoint's ``init_args['configuration']`` (resolved through ``inherits_from``), the network
the configuration's ``architecture`` (or the older plans layout with ``UNet_class_name``), the input channels the
dataset's channels, the output channels its labels (or regions).

The checkpoint is a pickle (nnU-Net's own, with numpy scalars and a torch.device in it). It is read with a
restricted unpickler that builds only tensors, containers, numpy scalars/arrays and torch devices/dtypes and
refuses any other global by name; ``--trust-pickle`` uses plain ``torch.load`` (runs arbitrary code: only for files
you trust).

Refused (ExportError, one line naming the file): other network classes, norms, nonlinearities, 2-D or cascade
configurations, ``nonlin_first``, residual options other than BasicBlockD without stochastic depth/SE, normalisation
schemes other than CT/ZScore/NoNormalization, resampling functions other than ``resample_data_or_seg_to_shape``,
and a checkpoint whose tensors do not match the network its plans describe (the first mismatching tensor named).
"""

import json
import math
import os

import numpy as np
import torch

from checkpoints import restricted_load
from renal_mtl.unet import CLASSES, SegUNet, inference_tensors, is_alias

FORMAT = "renal-mtl-segmentation"
FORMAT_VERSION = 1
NORMALIZATIONS = ("CTNormalization", "ZScoreNormalization", "NoNormalization")
RESAMPLING_FN = "resample_data_or_seg_to_shape"
ANISO_THRESHOLD = 3.0  # nnunetv2.configuration.ANISO_THRESHOLD, the default of the resampling functions


class NnUnetError(ValueError):
    """Bad nnU-Net input; the message starts with the offending file."""


# ---------------------------------------------------------------------------------------------- checkpoint

def load_checkpoint(path, trust_pickle=False):
    """The checkpoint dict of an nnU-Net .pth file (restricted unpickling unless trust_pickle)."""
    if not os.path.isfile(path):
        raise NnUnetError("%s: no such file" % path)
    try:
        if trust_pickle:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        else:
            obj = restricted_load(path)
            if obj is None:
                raise NnUnetError("%s: not a zip-format torch checkpoint (torch.save since PyTorch 1.6)" % path)
    except NnUnetError:
        raise
    except Exception as e:  # corrupt files and refused globals raise many types
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = "" if trust_pickle else " (if you trust the file, retry with --trust-pickle)"
        raise NnUnetError("%s: cannot load checkpoint: %s%s" % (path, msg, hint))
    if not isinstance(obj, dict) or not isinstance(obj.get("network_weights"), dict):
        raise NnUnetError("%s: not an nnU-Net v2 checkpoint (no 'network_weights' dict)" % path)
    return obj


# ---------------------------------------------------------------------------------------------- plans


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise NnUnetError("%s: no such file" % path)
    except (OSError, ValueError) as e:
        raise NnUnetError("%s: cannot read JSON: %s" % (path, e))


def resolve_configuration(plans, name, where):
    """The configuration dict ``name`` with ``inherits_from`` resolved (child keys override the parent's)."""
    configs = plans.get("configurations")
    if not isinstance(configs, dict):
        raise NnUnetError("%s: no 'configurations' object" % where)
    chain, cur = [], name
    while True:
        if cur not in configs:
            raise NnUnetError("%s: configuration %r not found (have: %s)" % (where, cur, ", ".join(sorted(configs))))
        if cur in chain:
            raise NnUnetError("%s: circular inherits_from: %s" % (where, " -> ".join(chain + [cur])))
        chain.append(cur)
        parent = configs[cur].get("inherits_from")
        if parent is None:
            break
        cur = parent
    resolved = {}
    for c in reversed(chain):
        resolved.update(configs[c])
    return resolved


def _old_layout_architecture(cfg, where):
    """nnU-Net's reconstruction of ``architecture`` from the older plans keys (UNet_class_name, ...)."""
    cls = cfg.get("UNet_class_name")
    if cls not in CLASSES:
        raise NnUnetError("%s: unsupported network class %r (supported: %s)" % (where, cls, ", ".join(CLASSES)))
    try:
        n = len(cfg["n_conv_per_stage_encoder"])
        dim = len(cfg["patch_size"])
        kw = {
            "n_stages": n,
            "features_per_stage": [min(cfg["UNet_base_num_features"] * 2 ** i, cfg["unet_max_num_features"])
                                   for i in range(n)],
            "conv_op": "torch.nn.modules.conv.Conv%dd" % dim,
            "kernel_sizes": cfg["conv_kernel_sizes"],
            "strides": cfg["pool_op_kernel_sizes"],
            ("n_conv_per_stage" if cls == "PlainConvUNet" else "n_blocks_per_stage"): cfg["n_conv_per_stage_encoder"],
            "n_conv_per_stage_decoder": cfg["n_conv_per_stage_decoder"],
            "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm%dd" % dim,
            "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None,
            "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True},
        }
    except (KeyError, TypeError) as e:
        raise NnUnetError("%s: old-layout plans lack %s" % (where, e))
    return {"network_class_name": cls, "arch_kwargs": kw}


def _last(name):
    return name.rsplit(".", 1)[-1] if isinstance(name, str) else name


def _per_stage(value, n, what, where, triple=False):
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value] * n
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise NnUnetError("%s: %s must have %d entries (one per stage), got %r" % (where, what, n, value))
    out = []
    for v in value:
        if triple:
            if isinstance(v, int) and not isinstance(v, bool):
                raise NnUnetError("%s: %s entry %r is a scalar: only 3-D configurations are supported" % (where, what, v))
            if not isinstance(v, (list, tuple)) or len(v) != 3:
                raise NnUnetError("%s: %s entry %r is not 3-D: only 3-D configurations are supported"
                                  % (where, what, v))
            v = list(v)
            if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in v):
                raise NnUnetError("%s: %s entry %r is not positive integers" % (where, what, v))
        elif not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            raise NnUnetError("%s: %s entry %r is not a positive integer" % (where, what, v))
        out.append(v)
    return out


_KNOWN_KW = {"n_stages", "features_per_stage", "conv_op", "kernel_sizes", "strides", "n_conv_per_stage",
             "n_blocks_per_stage", "n_conv_per_stage_decoder", "conv_bias", "norm_op", "norm_op_kwargs", "dropout_op",
             "dropout_op_kwargs", "nonlin", "nonlin_kwargs", "deep_supervision", "nonlin_first", "block",
             "bottleneck_channels", "stem_channels", "stochastic_depth_p", "squeeze_excitation",
             "squeeze_excitation_reduction_ratio", "pool_type"}


def network_from_architecture(arch, input_channels, num_classes, where):
    """FORMAT.md ``network`` object from a plans ``architecture`` (network_class_name + arch_kwargs)."""
    cls = _last(arch.get("network_class_name"))
    if cls not in CLASSES:
        raise NnUnetError("%s: unsupported network class %r (supported: %s)"
                          % (where, arch.get("network_class_name"), ", ".join(CLASSES)))
    kw = arch.get("arch_kwargs")
    if not isinstance(kw, dict):
        raise NnUnetError("%s: architecture has no arch_kwargs object" % where)
    unknown = sorted(set(kw) - _KNOWN_KW)
    if unknown:
        raise NnUnetError("%s: unsupported arch_kwargs: %s" % (where, ", ".join(unknown)))
    conv = _last(kw.get("conv_op"))
    if conv != "Conv3d":
        raise NnUnetError("%s: conv_op %r: only 3-D configurations (Conv3d) are supported" % (where, kw.get("conv_op")))
    norm = _last(kw.get("norm_op"))
    if norm != "InstanceNorm3d":
        raise NnUnetError("%s: unsupported norm_op %r (supported: InstanceNorm3d)" % (where, kw.get("norm_op")))
    nkw = kw.get("norm_op_kwargs") or {}
    if not nkw.get("affine", False):
        raise NnUnetError("%s: norm_op_kwargs: InstanceNorm3d without affine=True is not supported" % where)
    if set(nkw) - {"eps", "affine"}:
        raise NnUnetError("%s: unsupported norm_op_kwargs: %s" % (where, ", ".join(sorted(set(nkw) - {"eps", "affine"}))))
    eps = nkw.get("eps", 1e-5)
    if _last(kw.get("nonlin")) != "LeakyReLU":
        raise NnUnetError("%s: unsupported nonlin %r (supported: LeakyReLU)" % (where, kw.get("nonlin")))
    akw = kw.get("nonlin_kwargs") or {}
    if set(akw) - {"negative_slope", "inplace"}:
        raise NnUnetError("%s: unsupported nonlin_kwargs: %s"
                          % (where, ", ".join(sorted(set(akw) - {"negative_slope", "inplace"}))))
    slope = akw.get("negative_slope", 0.01)
    dropout = kw.get("dropout_op")
    if dropout is not None and _last(dropout) != "Dropout3d":
        raise NnUnetError("%s: unsupported dropout_op %r" % (where, dropout))
    if kw.get("nonlin_first", False):
        raise NnUnetError("%s: nonlin_first=true (conv, nonlin, norm) is not supported" % where)
    if kw.get("pool_type", "conv") != "conv":
        raise NnUnetError("%s: pool_type %r is not supported (strided convolutions only)" % (where, kw.get("pool_type")))
    if cls == "ResidualEncoderUNet":
        if kw.get("block") is not None and _last(kw["block"]) != "BasicBlockD":
            raise NnUnetError("%s: unsupported residual block %r (supported: BasicBlockD)" % (where, kw["block"]))
        if kw.get("bottleneck_channels") is not None:
            raise NnUnetError("%s: bottleneck_channels is not supported (BasicBlockD only)" % where)
        if kw.get("stochastic_depth_p", 0.0) or kw.get("squeeze_excitation", False):
            raise NnUnetError("%s: stochastic depth and squeeze-excitation are not supported" % where)
        blocks_key = "n_blocks_per_stage"
    else:
        for k in ("block", "bottleneck_channels", "stem_channels"):
            if k in kw:
                raise NnUnetError("%s: arch_kwargs %s does not apply to PlainConvUNet" % (where, k))
        blocks_key = "n_conv_per_stage"
    n = kw.get("n_stages")
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 16:
        raise NnUnetError("%s: n_stages %r must be an integer 2..16" % (where, n))
    feats = _per_stage(kw.get("features_per_stage"), n, "features_per_stage", where)
    if cls == "ResidualEncoderUNet" and kw.get("stem_channels") not in (None, feats[0]):
        raise NnUnetError("%s: stem_channels %r differs from features_per_stage[0]: not supported"
                          % (where, kw["stem_channels"]))
    if blocks_key not in kw:
        raise NnUnetError("%s: arch_kwargs lack %s" % (where, blocks_key))
    net = {
        "class": cls,
        "input_channels": input_channels,
        "num_classes": num_classes,
        "features_per_stage": feats,
        "kernel_sizes": _per_stage(kw.get("kernel_sizes"), n, "kernel_sizes", where, triple=True),
        "strides": _per_stage(kw.get("strides"), n, "strides", where, triple=True),
        "n_conv_per_stage": _per_stage(kw[blocks_key], n, blocks_key, where),
        "n_conv_per_stage_decoder": _per_stage(kw.get("n_conv_per_stage_decoder"), n - 1, "n_conv_per_stage_decoder",
                                               where),
        "conv_bias": bool(kw.get("conv_bias", False)),
        "norm": {"type": "InstanceNorm3d", "eps": float(eps), "affine": True},
        "nonlin": {"type": "LeakyReLU", "negative_slope": float(slope)},
    }
    for k in net["kernel_sizes"]:
        if any(i % 2 == 0 for i in k):
            raise NnUnetError("%s: even kernel size %r is not supported (same padding needs odd kernels)" % (where, k))
    return net


# ---------------------------------------------------------------------------------------------- labels, channels


def label_heads(labels, regions_class_order, where):
    """(num_classes, regions_class_order or None) as nnU-Net's LabelManager derives them from dataset.json."""
    if not isinstance(labels, dict) or labels.get("background") != 0:
        raise NnUnetError("%s: labels must be an object with \"background\": 0" % where)
    def ints(v):
        return [v] if isinstance(v, int) and not isinstance(v, bool) else v
    all_labels = set()
    for k, v in labels.items():
        vs = ints(v)
        if not isinstance(vs, list) or not vs or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                         for i in vs):
            raise NnUnetError("%s: label %r: %r is not an integer or a list of integers" % (where, k, v))
        if k == "ignore":
            if not isinstance(v, int):
                raise NnUnetError("%s: the ignore label must be an integer" % where)
            continue
        all_labels.update(vs)
    has_regions = any(isinstance(v, list) and len(v) > 1 for v in labels.values())
    if not has_regions:
        return len(all_labels), None
    regions = [v for k, v in labels.items() if k != "ignore" and set(ints(v)) != {0}]
    if not isinstance(regions_class_order, list) or len(regions_class_order) != len(regions):
        raise NnUnetError("%s: a region-based dataset needs regions_class_order with %d entries, got %r"
                          % (where, len(regions), regions_class_order))
    return len(regions), [int(i) for i in regions_class_order]


def _prod(values):
    out = 1
    for v in values:
        out *= v
    return out


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def channel_entries(dataset, cfg, plans, where_ds, where_plans):
    names = dataset.get("channel_names", dataset.get("modality"))
    if not isinstance(names, dict) or not names:
        raise NnUnetError("%s: no channel_names object" % where_ds)
    try:
        order = sorted(names, key=int)
    except ValueError:
        raise NnUnetError("%s: channel_names keys must be integers 0..n-1" % where_ds)
    if [int(k) for k in order] != list(range(len(order))):
        raise NnUnetError("%s: channel_names keys must be 0..%d" % (where_ds, len(order) - 1))
    schemes = cfg.get("normalization_schemes")
    masks = cfg.get("use_mask_for_norm", [False] * len(order))
    if not isinstance(schemes, list) or len(schemes) != len(order) or not isinstance(masks, list) \
            or len(masks) != len(order):
        raise NnUnetError("%s: normalization_schemes/use_mask_for_norm must have one entry per channel (%d)"
                          % (where_plans, len(order)))
    props = plans.get("foreground_intensity_properties_per_channel",
                      plans.get("foreground_intensity_properties_by_modality", {}))
    out = []
    for i, k in enumerate(order):
        scheme = schemes[i]
        if scheme not in NORMALIZATIONS:
            raise NnUnetError("%s: unsupported normalization scheme %r for channel %d (supported: %s)"
                              % (where_plans, scheme, i, ", ".join(NORMALIZATIONS)))
        entry = {"name": str(names[k]), "normalization": scheme, "use_mask_for_norm": bool(masks[i])}
        p = props.get(str(i), {}) if isinstance(props, dict) else {}
        for s in ("mean", "std", "percentile_00_5", "percentile_99_5"):
            if _finite(p.get(s)):
                entry[s] = float(p[s])
            elif scheme == "CTNormalization":
                raise NnUnetError("%s: CTNormalization of channel %d needs a finite %s in "
                                  "foreground_intensity_properties_per_channel" % (where_plans, i, s))
        out.append(entry)
    return out


def _resampling(cfg, which, where):
    fn = cfg.get("resampling_fn_" + which)
    if fn != RESAMPLING_FN:
        raise NnUnetError("%s: unsupported resampling_fn_%s %r (supported: %s)" % (where, which, fn, RESAMPLING_FN))
    kw = cfg.get("resampling_fn_%s_kwargs" % which)
    if not isinstance(kw, dict):
        raise NnUnetError("%s: resampling_fn_%s_kwargs missing" % (where, which))
    allowed = {"is_seg", "order", "order_z", "force_separate_z", "separate_z_anisotropy_threshold"}
    if set(kw) - allowed:
        raise NnUnetError("%s: unsupported resampling_fn_%s_kwargs: %s"
                          % (where, which, ", ".join(sorted(set(kw) - allowed))))
    if kw.get("is_seg", False):
        raise NnUnetError("%s: resampling_fn_%s_kwargs has is_seg=true" % (where, which))
    fsz = kw.get("force_separate_z")
    if fsz is not None and not isinstance(fsz, bool):
        raise NnUnetError("%s: force_separate_z must be null, true or false" % where)
    order, order_z = kw.get("order", 3 if which == "data" else 1), kw.get("order_z", 0)
    for name, v in (("order", order), ("order_z", order_z)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 5:
            raise NnUnetError("%s: resampling_fn_%s_kwargs %s %r must be 0..5" % (where, which, name, v))
    thr = kw.get("separate_z_anisotropy_threshold", ANISO_THRESHOLD)
    return {"order": order, "order_z": order_z, "force_separate_z": fsz,
            "separate_z_anisotropy_threshold": float(thr)}


def _spatial(v, what, where, kind=int):
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise NnUnetError("%s: %s %r: only 3-D configurations are supported" % (where, what, v))
    if kind is int:
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v):
            raise NnUnetError("%s: %s %r must be non-negative integers" % (where, what, v))
        return [int(i) for i in v]
    if not all(_finite(i) and i > 0 for i in v):
        raise NnUnetError("%s: %s %r must be positive numbers" % (where, what, v))
    return [float(i) for i in v]


# ---------------------------------------------------------------------------------------------- tensors


def _canonical(key):
    """The non-alias name of a key (``decoder.encoder.X`` -> ``encoder.X``; ``all_modules.0`` -> ``conv``,
    ``all_modules.N`` (N > 0) -> ``norm``, the only other module with parameters in a conv block)."""
    if key.startswith("decoder.encoder."):
        key = key[len("decoder."):]
    parts = key.split(".")
    for i in range(len(parts) - 1):
        if parts[i] == "all_modules":
            parts[i:i + 2] = ["conv" if parts[i + 1] == "0" else "norm"]
            break
    return ".".join(parts)


def network_tensors(net, state, where):
    """FORMAT.md tensors (float32 numpy, in state_dict order) of a checkpoint's network_weights for ``net``.

    Aliases are dropped after checking they equal what they alias; the deep-supervision seg_layers are checked
    for shape and dropped; every other tensor must be exactly the expected set with the expected shapes."""
    model = SegUNet(net)
    full = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    n_seg = len(net["features_per_stage"]) - 1
    expected = {k: full[k] for k in inference_tensors(model.state_dict(), n_seg)}
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise NnUnetError("%s: network_weights[%r] is not a tensor" % (where, k))
    for k in full:  # first mismatch in the network's own order
        if k in expected or k.startswith("decoder.seg_layers."):
            if k not in state:
                if k in expected:
                    raise NnUnetError("%s: tensor %s is missing: the checkpoint does not match its plans "
                                      "(expected shape %s)" % (where, k, list(full[k])))
                continue
            if tuple(state[k].shape) != full[k]:
                raise NnUnetError("%s: tensor %s has shape %s but the plans imply %s: the checkpoint does not match "
                                  "its plans" % (where, k, list(state[k].shape), list(full[k])))
    for k in state:
        if k in full:
            continue
        raise NnUnetError("%s: unexpected tensor %s: the checkpoint does not match its plans" % (where, k))
    for k in state:
        if is_alias(k):
            c = _canonical(k)
            if c not in state or not torch.equal(state[c], state[k]):
                raise NnUnetError("%s: alias %s differs from %s" % (where, k, c))
    out = {}
    for k in expected:
        a = state[k].detach().to(torch.float32).cpu().numpy()
        if not np.all(np.isfinite(a)):
            raise NnUnetError("%s: tensor %s has non-finite values" % (where, k))
        out[k] = np.ascontiguousarray(a)
    return out


# ---------------------------------------------------------------------------------------------- export


def segmentation_config(folder, fold, checkpoint_name, ckpt, renal=None):
    """(config dict, network tensors) of one fold of an nnU-Net model folder and its loaded checkpoint."""
    plans_path = os.path.join(folder, "plans.json")
    ds_path = os.path.join(folder, "dataset.json")
    ckpt_path = os.path.join(folder, "fold_%s" % fold, checkpoint_name)
    plans, dataset = _read_json(plans_path), _read_json(ds_path)
    if not isinstance(plans, dict) or not isinstance(dataset, dict):
        raise NnUnetError("%s: not a JSON object" % (plans_path if not isinstance(plans, dict) else ds_path))
    init = ckpt.get("init_args")
    if not isinstance(init, dict) or not isinstance(init.get("configuration"), str):
        raise NnUnetError("%s: checkpoint lacks init_args['configuration']" % ckpt_path)
    cfg_name = init["configuration"]
    cfg = resolve_configuration(plans, cfg_name, plans_path)
    where = "%s: configuration %s" % (plans_path, cfg_name)
    if cfg.get("previous_stage") is not None:
        raise NnUnetError("%s is a cascade stage (previous_stage %r): not supported" % (where, cfg["previous_stage"]))
    arch = cfg.get("architecture")
    if arch is None:
        arch = _old_layout_architecture(cfg, where)
    if not isinstance(arch, dict):
        raise NnUnetError("%s: architecture is not an object" % where)
    patch = _spatial(cfg.get("patch_size"), "patch_size", where)
    if any(p < 1 for p in patch):
        raise NnUnetError("%s: patch_size %r must be positive" % (where, patch))
    spacing = _spatial(cfg.get("spacing"), "spacing", where, float)
    num_classes, rco = label_heads(dataset.get("labels"), dataset.get("regions_class_order"), ds_path)
    channels = channel_entries(dataset, cfg, plans, ds_path, where)
    net = network_from_architecture(arch, len(channels), num_classes, where)
    for a in range(3):
        prod = 1
        for s in net["strides"]:
            prod *= s[a]
        if patch[a] % prod:
            raise NnUnetError("%s: patch_size %r is not divisible by the total stride %d along axis %d"
                              % (where, patch, prod, a))
    bottleneck = [patch[a] // _prod(s[a] for s in net["strides"]) for a in range(3)]
    if bottleneck == [1, 1, 1]:
        raise NnUnetError("%s: patch_size %r leaves one voxel at the bottleneck (instance norm of a single voxel)"
                          % (where, patch))
    tf, tb = plans.get("transpose_forward", [0, 1, 2]), plans.get("transpose_backward", [0, 1, 2])
    for what, t in (("transpose_forward", tf), ("transpose_backward", tb)):
        if not isinstance(t, list) or sorted(t) != [0, 1, 2]:
            raise NnUnetError("%s: %s %r is not a permutation of 0, 1, 2" % (plans_path, what, t))
    if [tf[i] for i in tb] != [0, 1, 2]:
        raise NnUnetError("%s: transpose_backward %r does not invert transpose_forward %r" % (plans_path, tb, tf))
    mirror = ckpt.get("inference_allowed_mirroring_axes")
    mirror = [] if mirror is None else [int(i) for i in mirror]
    if any(not 0 <= i <= 2 for i in mirror) or len(set(mirror)) != len(mirror):
        raise NnUnetError("%s: inference_allowed_mirroring_axes %r must be distinct axes 0..2" % (ckpt_path, mirror))
    tensors = network_tensors(net, ckpt["network_weights"], ckpt_path)
    trainer = ckpt.get("trainer_name", "nnUNetTrainer")
    plans_name = plans.get("plans_name", "nnUNetPlans")
    ds_name = plans.get("dataset_name", dataset.get("name", os.path.basename(os.path.dirname(os.path.abspath(folder)))))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "producer": "renal-mtl export.py --nnunet (torch %s)" % torch.__version__,
        "name": "%s %s__%s__%s fold %s" % (ds_name, trainer, plans_name, cfg_name, fold),
        "source": {"dataset": ds_name, "trainer": trainer, "plans": plans_name, "configuration": cfg_name,
                   "fold": fold if fold == "all" else int(fold), "checkpoint": checkpoint_name},
        "network": net,
        "patch_size": patch,
        "spacing": spacing,
        "transpose_forward": [int(i) for i in tf],
        "transpose_backward": [int(i) for i in tb],
        "channels": channels,
        "resampling": {"data": _resampling(cfg, "data", where),
                       "probabilities": _resampling(cfg, "probabilities", where)},
        "labels": dataset["labels"],
        "regions_class_order": rco,
        "mirroring_axes": mirror,
    }
    if renal:
        config["renal_mtl"] = _renal_block(renal, dataset["labels"], len(channels), ds_path)
    return config, tensors


def _renal_block(renal, labels, n_channels, where):
    block = {}
    for key in ("tumour_label", "kidney_label"):
        v = renal.get(key)
        if v is not None:
            if v not in labels or v in ("background", "ignore"):
                raise NnUnetError("%s: %s %r is not a foreground label (have: %s)"
                                  % (where, key, v, ", ".join(k for k in labels if k not in ("background", "ignore"))))
            block[key] = v
    phases = renal.get("phases")
    if phases is not None:
        if len(phases) != n_channels:
            raise NnUnetError("%s: --phases names %d phase(s) but the network has %d input channel(s)"
                              % (where, len(phases), n_channels))
        block["phases"] = list(phases)
    return block


def export_nnunet(folder, fold, out, checkpoint_name="checkpoint_final.pth", trust_pickle=False, renal=None):
    """Write one fold of an nnU-Net v2 model folder as a segmentation HDF5 at ``out``; returns the config."""
    import export  # the classifier exporter's atomic HDF5 writer
    if not os.path.isdir(folder):
        raise NnUnetError("%s: not a directory" % folder)
    ckpt = load_checkpoint(os.path.join(folder, "fold_%s" % fold, checkpoint_name), trust_pickle)
    config, tensors = segmentation_config(folder, fold, checkpoint_name, ckpt, renal)
    export.write_arrays(out, json.dumps(config, indent=1, allow_nan=False), tensors)
    return config
