"""The renal-mtl HDF5 weight file (weights/FORMAT.md) written and read from Python: config attribute, contiguous
float32/float16 datasets, atomic writes (a failure leaves no partial file). export.py re-exports all of it."""

import json
import os
import tempfile

import h5py
import numpy as np
import torch

from problems import ExportError, Problems
from renal_mtl import config as cfgmod
from renal_mtl.config import ConfigError
from renal_mtl.model import RenalModel

CONFIG_ATTR = "renal_mtl_config"


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
    problems = Problems(hints=False)
    tensor_problems(problems, expected, tensors)
    problems.raise_if_any(where)


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


def tensor_problems(problems, expected, tensors):
    """Add missing, unexpected, misshaped and non-finite tensors (name -> array) against expected (name -> shape)."""
    problems.extend("missing", sorted(set(expected) - set(tensors)))
    problems.extend("unexpected", sorted(set(tensors) - set(expected)))
    both = sorted(set(expected) & set(tensors))
    problems.extend("misshaped", ("%s %s (expected %s)" % (k, tuple(tensors[k].shape), tuple(expected[k]))
                                  for k in both if tuple(tensors[k].shape) != tuple(expected[k])))
    problems.extend("nonfinite", (k for k in both if not np.all(np.isfinite(np.asarray(tensors[k], dtype=np.float32)))))
