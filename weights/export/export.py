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
  export.py --named r18_3p_96_mtdl --seed 0 --out model.h5      (random weights, for benchmarks)
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
