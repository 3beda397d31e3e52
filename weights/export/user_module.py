"""The user's own PyTorch model (``--module``) as the judge of an export.

``--module pkg.mod:factory`` imports ``pkg.mod`` (the working directory is on the path) and calls
``factory()``; ``--module FILE`` loads a TorchScript file. Either way the result is an ``nn.Module`` whose
``forward(x)`` takes x (B, P, D, H, W) -- B cases, the config's P phases in order, one channel each, as the
engine feeds the model -- and returns the tasks' probabilities in the config's task order: a (B, T) tensor, a
list of T tensors (B,) or (B, 1), or a dict with ``probabilities``. The checkpoint's tensors are loaded into it
(its keys, without ``module.`` prefixes, must be in the checkpoint), both it and the exported model run on the
same seeded random input, and the export is refused unless the probabilities agree; when they do not, every
layer whose weights came from the checkpoint is compared in the order the exported model runs them and the
first that differs is named.
"""

import importlib
import os
import sys

import torch
from torch import nn

from checkpoints import strip_wrappers

#: tolerances: float32 runs of the same function summed in different orders (and easezyc's input layer folded
#: in float64) differ by ~1e-6 relative; a wrong geometry or activation by O(1)
PROB_ATOL = 1e-4
LAYER_REL = 1e-3


def load(spec):
    """The module ``spec`` names: ``pkg.mod:factory`` (called) or a TorchScript file."""
    if os.path.isfile(spec):
        try:
            return torch.jit.load(spec, map_location="cpu")
        except Exception as e:
            raise ValueError("--module %s: not a TorchScript file (%s)" % (spec, str(e).splitlines()[0]))
    if ":" not in spec:
        raise ValueError("--module %s: expected pkg.mod:factory or a TorchScript file" % spec)
    mod_name, factory = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = getattr(importlib.import_module(mod_name), factory)()
    except Exception as e:
        raise ValueError("--module %s: %s: %s" % (spec, type(e).__name__, e))
    if not isinstance(module, nn.Module):
        raise ValueError("--module %s: %s() returned %s, not a torch.nn.Module"
                         % (spec, factory, type(module).__name__))
    return module


class KeyMap:
    """The user's module's names in the checkpoint's key space.

    A tensor of the module maps to the checkpoint key equal to its name without wrapper prefixes, else to the
    longest tail of its name that is a key (the module wraps a backbone and a head the checkpoint files hold
    bare: ``backbone.conv1.weight`` -> ``conv1.weight``), else to the one key that ends with its name (the files
    were given prefixes). A module without tensors (an activation) is named through its nearest ancestor that
    has some."""

    def __init__(self, module, state):
        self.keys = {}
        for name, _ in list(module.named_parameters()) + list(module.named_buffers()):
            src = self._find(strip_wrappers(name), state)
            if src is not None:
                self.keys[strip_wrappers(name)] = src
        self.owners = {}  # module name -> (one of its tensor names, relative to it)
        for name, _ in list(module.named_parameters()) + list(module.named_buffers()):
            name = strip_wrappers(name)
            parts = name.split(".")
            for i in range(len(parts)):
                self.owners.setdefault(".".join(parts[:i]), ".".join(parts[i:]))

    @staticmethod
    def _find(name, state):
        parts = name.split(".")
        for i in range(len(parts)):
            if ".".join(parts[i:]) in state:
                return ".".join(parts[i:])
        ends = [k for k in state if k.endswith("." + name)]
        return ends[0] if len(ends) == 1 else None

    def module(self, name):
        """The checkpoint-space name of one of the user's modules, or None if none of its tensors is there."""
        parts = name.split(".") if name else []
        for i in range(len(parts), -1, -1):
            owner = ".".join(parts[:i])
            rest = self.owners.get(owner)
            src = self.keys.get(owner + "." + rest if owner else rest) if rest else None
            if src is not None and src.endswith(rest):
                base = src[:-len(rest)]
                tail = ".".join(parts[i:])
                return (base + tail) if tail else base.rstrip(".")
        return None


def load_state(module, keymap, state):
    """Load the checkpoint's tensors into the user's module; the names of its tensors the checkpoint lacks."""
    own = module.state_dict()
    values, missing = {}, []
    for k, v in own.items():
        if k.endswith("num_batches_tracked"):
            continue
        src = keymap.keys.get(strip_wrappers(k))
        if src is None or tuple(state[src].shape) != tuple(v.shape):
            missing.append(k + (" (not in the checkpoint)" if src is None else " (shape %s, the checkpoint's %s)"
                                % (tuple(v.shape), tuple(state[src].shape))))
            continue
        values[k] = state[src].to(v.dtype)
    module.load_state_dict(values, strict=False)
    return missing


def probabilities(out, tasks):
    """The user's output as a (B, T) tensor (see the module docstring)."""
    if isinstance(out, dict):
        out = out.get("probabilities")
    if isinstance(out, (list, tuple)):
        out = torch.cat([o.reshape(o.shape[0], -1) for o in out], dim=1)
    if not isinstance(out, torch.Tensor):
        raise ValueError("returned %s, not probabilities" % type(out).__name__)
    return out.reshape(out.shape[0], -1) if out.dim() != 2 else out


class _Recorder:
    """Outputs of named modules, every call, in call order."""

    def __init__(self, modules):
        self.calls = {name: [] for name in modules}
        self.order = []
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in modules.items()]

    def _hook(self, name):
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor):
                self.calls[name].append(output.detach().clone())  # an in-place ReLU may follow
                if name not in self.order:
                    self.order.append(name)
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def _joined(outputs):
    return torch.cat(outputs, dim=0) if len(outputs) > 1 else outputs[0]


def _differs(a, b, batch):
    """None if a and b agree, else why; b may list the phases of a batch-fused backbone phase-major."""
    if a.shape != b.shape:
        return "shape %s, your module %s" % (tuple(a.shape), tuple(b.shape))
    rel = float((a - b).norm() / b.norm().clamp_min(1e-12))
    if rel <= LAYER_REL:
        return None
    n = a.shape[0]
    if batch > 1 and n % batch == 0 and n > batch:  # (P*B, ...) phase-major against our case-major (B*P, ...)
        p = n // batch
        swapped = b.reshape((p, batch) + tuple(b.shape[1:])).transpose(0, 1).reshape(b.shape)
        if float((a - swapped).norm() / swapped.norm().clamp_min(1e-12)) <= LAYER_REL:
            return None
    return "relative difference %.3g" % rel


def compare(user, keymap, reference, sources, size, seed=0, batch=2):
    """Problems (strings) where the exported model and the user's module disagree; [] when they agree.

    reference: the exported RenalModel; sources: {FORMAT tensor name: checkpoint key}. A TorchScript module
    cannot be hooked: its probabilities are compared, its layers are not."""
    tasks = len(reference.config["tasks"])
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, reference.n_phases) + tuple(size), generator=gen)
    # a module's weight names its source module (DeepCTR's tower Linear takes its bias from the PredictionLayer)
    ours_by_module = {f[:-len(".weight")]: s.rsplit(".", 1)[0] for f, s in sources.items() if f.endswith(".weight")}
    ref_mods = dict(reference.named_modules())
    scripted = isinstance(user, torch.jit.ScriptModule)
    user_mods = {} if scripted else {keymap.module(strip_wrappers(n)): m for n, m in user.named_modules() if n}
    pairs = {o: s for o, s in ours_by_module.items() if o in ref_mods and s in user_mods}
    ref_rec = _Recorder({o: ref_mods[o] for o in pairs})
    user_rec = _Recorder({s: user_mods[s] for s in set(pairs.values())})
    user.eval()
    reference.eval()
    try:
        with torch.no_grad():
            want = reference(x)["probabilities"]
            try:
                got = probabilities(user(x), tasks)
            except Exception as e:
                return ["your module raised %s: %s on input %s (x: B cases, P phases, D, H, W)"
                        % (type(e).__name__, str(e).splitlines()[0] if str(e) else "", tuple(x.shape))]
    finally:
        ref_rec.close()
        user_rec.close()
    if tuple(got.shape) != tuple(want.shape):
        return ["your module returned probabilities of shape %s, the exported model %s" % (tuple(got.shape),
                                                                                         tuple(want.shape))]
    diff = float((got - want).abs().max())
    if diff <= PROB_ATOL:
        return []
    out = ["probabilities differ by up to %.3g (bar %g)" % (diff, PROB_ATOL)]
    if scripted:
        return out + ["a TorchScript module cannot be hooked: give pkg.mod:factory to have the first differing "
                      "layer named"]
    for o in ref_rec.order:
        theirs = user_rec.calls[pairs[o]]
        why = _differs(_joined(ref_rec.calls[o]), _joined(theirs), batch) if theirs else "your module never ran it"
        if why:
            out.append("first layer that differs: %s (your %s): %s" % (o, pairs[o], why))
            break
    else:
        out.append("all %d layers taken from the checkpoint agree: what follows them differs (the output "
                   "activation: the engine applies a sigmoid to each task's logit; or the task order)"
                   % len(ref_rec.order))
    return out
