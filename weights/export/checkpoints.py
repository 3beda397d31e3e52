"""Reading checkpoint files as the projects people train with save them, into one flat state dict.

Loading (:func:`load_file`): a ``torch.save`` file (zip format, or legacy pre-1.6) is unpickled with a
restricted unpickler that builds only tensors, containers, numbers, strings, numpy scalars/arrays and torch
devices/dtypes, and refuses any other global by name, so training checkpoints with optimizer and scheduler
state load safely (PyTorch 1.13's own ``weights_only`` refuses every float, e.g. a learning rate).
``trust_pickle`` uses plain ``torch.load``: it runs whatever the pickle names, so only for files you trust (a
pickled ``nn.Module``, a scheduler of a class not listed here).

Unwrapping (:func:`unwrap`): a bare state dict; ``{'state_dict': ...}`` (MedicalNet's train.py with
``ecpoch``/``batch_id``/``optimizer``, Hara's main.py with ``epoch``/``arch``/``optimizer``/``scheduler``),
``{'model_state_dict': ...}``, ``{'model': ...}``, ``{'net': ..., 'opt': ...}`` (MONAI / Ignite
``CheckpointSaver``); a pickled module (``torch.save(model)``). ``module.`` (DataParallel) and
``_orig_mod.`` (torch.compile) prefixes are stripped, ``num_batches_tracked`` dropped.
"""

import pickle
import re
import types
import zipfile

import torch

from problems import ExportError

_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "Counter"),  # MultiStepLR keeps its milestones in a Counter
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("_codecs", "encode"),  # protocol-2 pickles of numpy scalars encode their bytes with it
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"), ("torch", "device"), ("torch", "Size"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
}
_TORCH_DTYPES = {"float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}


class RestrictedUnpickler(pickle.Unpickler):
    """Builds only the globals above; any other is refused by name, never imported."""

    def find_class(self, module, name):
        if ((module, name) in _SAFE_GLOBALS or (module == "torch" and name in _TORCH_DTYPES)
                or (module == "numpy.dtypes" and name.endswith("DType"))):
            return super().find_class(module, name)
        raise pickle.UnpicklingError("refusing to load global %s.%s" % (module, name))


_restricted_pickle = types.ModuleType("renal_mtl_restricted_pickle")
_restricted_pickle.Unpickler = RestrictedUnpickler
_restricted_pickle.load = lambda f, **kw: RestrictedUnpickler(f, **kw).load()
_restricted_pickle.__dict__.update({"UnpicklingError": pickle.UnpicklingError})


def restricted_load(path):
    """torch.load's zip-format loading with the restricted unpickler; None if path is not a zip file.

    torch.load(pickle_module=...) cannot be used: PyTorch 1.13 silently replaces the pickle_module by ``pickle``
    when weights_only is false, and its weights_only unpickler refuses floats and numpy scalars. So this calls
    torch.serialization._load (private, same signature from 1.13 through 2.x: zip reader, map_location,
    pickle_module, then pickle.load arguments), which subclasses ``pickle_module.Unpickler``."""
    with open(path, "rb") as f:
        if not zipfile.is_zipfile(f):
            return None
        f.seek(0)
        with torch.serialization._open_zipfile_reader(f) as reader:
            return torch.serialization._load(reader, "cpu", _restricted_pickle, encoding="utf-8")


def restricted_load_legacy(path):
    """The same for a legacy (pre-1.6, non-zip) torch.save file, through torch.serialization._legacy_load (private,
    same signature from 1.13 through 2.x: file, map_location, pickle_module, then pickle.load arguments)."""
    with open(path, "rb") as f:
        return torch.serialization._legacy_load(f, "cpu", _restricted_pickle, encoding="utf-8")


def load_file(path, trust_pickle=False):
    """The object a checkpoint file holds (restricted unpickling unless trust_pickle)."""
    try:
        if trust_pickle:
            return torch.load(path, map_location="cpu", weights_only=False)
        obj = restricted_load(path)
        return obj if obj is not None else restricted_load_legacy(path)
    except FileNotFoundError:
        raise ExportError("%s: no such file" % path)
    except IsADirectoryError:
        raise ExportError("%s: is a directory, not a checkpoint file" % path)
    except Exception as e:  # corrupt files and refused globals raise many types
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = "" if trust_pickle else \
            " (hint: --trust-pickle loads it with plain torch.load, only for files you trust)"
        raise ExportError("%s: cannot load checkpoint: %s%s" % (path, msg, hint))


#: wrapper keys whose value is the model's state dict, in the order they are tried
WRAPPERS = ("state_dict", "model_state_dict", "model", "net")


class Loaded:
    """Checkpoint files, unwrapped and merged.

    state: {source key: float32 tensor}; modules: (key prefix, nn.Module) for each file that held a pickled
    module (its activation modules tell what a state dict cannot); meta: top-level entries that say what
    made the file (Hara's ``arch``); notes: what was unwrapped and ignored."""

    def __init__(self, state, modules=(), meta=None, notes=()):
        self.state = state
        self.modules = list(modules)
        self.meta = dict(meta or {})
        self.notes = list(notes)


def unwrap(obj, where):
    """A :class:`Loaded` of whatever a checkpoint file holds (see the module docstring)."""
    notes, meta, module = [], {}, None
    if isinstance(obj, dict) and not _all_tensors(obj):
        key = next((k for k in WRAPPERS if k in obj and isinstance(obj[k], (dict, torch.nn.Module))), None)
        if key is None:
            raise ExportError("%s: neither a state dict nor a known checkpoint wrapper: top-level keys %s (expected "
                              "tensors, or the model's state dict under one of %s)"
                              % (where, _list(obj), ", ".join(repr(k) for k in WRAPPERS)))
        rest = sorted(str(k) for k in obj if k != key)
        meta["top_keys"] = rest
        if isinstance(obj.get("arch"), str):
            meta["arch"] = obj["arch"]
        notes.append("%s: the model is under %r%s" % (where, key, "; ignored: " + ", ".join(rest) if rest else ""))
        obj = obj[key]
    if isinstance(obj, torch.nn.Module):
        module = obj
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise ExportError("%s: expected a state dict, got %s" % (where, type(obj).__name__))
    bad = sorted(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))
    if bad:
        raise ExportError("%s: the state dict has entries that are not tensors: %s" % (where, _list(bad)))
    return Loaded(normalise(obj, where), [("", module)] if module is not None else [], meta, notes)


def _all_tensors(d):
    return all(isinstance(v, torch.Tensor) for v in d.values())


def _list(keys, shown=10):
    keys = [str(k) for k in keys]
    return ", ".join(keys[:shown]) + (" ... and %d more" % (len(keys) - shown) if len(keys) > shown else "")


_WRAPPER_PREFIX = re.compile(r"^(module\.|_orig_mod\.)+")


def strip_wrappers(key):
    """A key without DataParallel's ``module.`` and torch.compile's ``_orig_mod.`` segments in front."""
    return _WRAPPER_PREFIX.sub("", key)


def normalise(state, where):
    """{key without wrapper prefixes: float32 tensor}, num_batches_tracked dropped; two keys meeting is an error."""
    out = {}
    for k, v in state.items():
        name = strip_wrappers(str(k))
        if name.endswith("num_batches_tracked"):
            continue
        if name in out:
            raise ExportError("%s: key %r occurs twice once 'module.' prefixes are stripped" % (where, name))
        out[name] = v.detach().float().cpu()
    return out


_PREFIX = re.compile(r"^((?:[A-Za-z_][A-Za-z0-9_]*\.)+)=(.+)$")


def parse_spec(spec):
    """``[PREFIX=]FILE`` -> (file, prefix): the file's keys are read under PREFIX (identifier segments each
    ending in '.'), so that two files with the same names (three phase backbones) can be told apart."""
    m = _PREFIX.match(spec)
    return (m.group(2), m.group(1)) if m else (spec, "")


def load_all(specs, trust_pickle=False):
    """Merge checkpoint files (``[PREFIX=]FILE`` each) into one :class:`Loaded`; a key in two files is an error."""
    merged = Loaded({})
    origin = {}
    for spec in specs:
        path, prefix = parse_spec(spec)
        one = unwrap(load_file(path, trust_pickle), path)
        clash = sorted(prefix + k for k in one.state if prefix + k in merged.state)
        if clash:
            raise ExportError("%s: %d key(s) are also in %s: %s (hint: give each file a prefix, --checkpoint "
                              "PREFIX.=FILE)" % (path, len(clash), origin[clash[0]], _list(clash)))
        for k, v in one.state.items():
            merged.state[prefix + k] = v
            origin[prefix + k] = path
        merged.notes.extend(one.notes)
        top = merged.meta.get("top_keys", []) + one.meta.get("top_keys", [])
        merged.meta.update(one.meta)
        merged.meta["top_keys"] = top
        merged.modules.extend((prefix, m) for _, m in one.modules)
    return merged
