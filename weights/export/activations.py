"""Hidden activations: read from activation modules (a pickled model, ``--module``) and decided per head.

A state dict shows PReLU and Dice (they have tensors) but not ReLU, sigmoid, tanh or leaky ReLU; a module shows
all of them as submodules (DeepCTR's ``activation_layers.{i}``, easezyc's ``mlp.{4i+2}``, MONAI's ``act``).
"""

from checkpoints import strip_wrappers
from renal_mtl import config as cfgmod

#: activation classes the heads support, by class name -> config name
SUPPORTED = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
#: modules that are not a hidden layer's activation even though torch files them with the activations
NOT_HIDDEN = {"Softmax", "Softmax2d", "LogSoftmax", "MultiheadAttention", "Dropout"}


def kind_of(name, m):
    """(config name or unsupported class name, negative slope, supported) of an activation module, else None."""
    cls = getattr(m, "original_name", type(m).__name__)  # TorchScript keeps the class name there
    if cls in SUPPORTED:
        return SUPPORTED[cls], float(getattr(m, "negative_slope", 0.01)) if cls == "LeakyReLU" else 0.0, True
    if cls in NOT_HIDDEN:
        return None
    in_torch = type(m).__module__ == "torch.nn.modules.activation" or cls in ("PReLU", "Dice")
    deepctr_identity = cls == "Identity" and ".activation_layers." in "." + name + "."
    if in_torch or deepctr_identity:
        return cls + (" (DeepCTR dnn_activation='linear')" if deepctr_identity else ""), 0.0, False
    return None


def find(modules, belongs):
    """{(kind, slope, supported): [module names]} of the activation modules whose checkpoint-space name satisfies
    belongs(name).

    modules: (key prefix, nn.Module, KeyMap or None) triples; without a KeyMap a module's names are checkpoint
    keys already (a pickled model from the checkpoint itself)."""
    out = {}
    for key_prefix, module, keymap in modules:
        for name, m in module.named_modules():
            found = kind_of(name, m) if name else None
            if found is None:
                continue
            full = keymap.module(strip_wrappers(name)) if keymap else key_prefix + strip_wrappers(name)
            if full is not None and belongs(full):
                out.setdefault(found, []).append(full)
    return out


#: the modules of a ResNet's top level (the three projects' names): what sits under a backbone prefix
RESNET_PARTS = {"conv1", "bn1", "relu", "act", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc",
                "conv_seg"}


def in_backbone(src):
    """Whether a module name is a ResNet's under the backbone prefix src (a head may share the prefix)."""
    return lambda n: n.startswith(src) and n[len(src):].split(".", 1)[0] in RESNET_PARTS


def declared(config):
    """{network: {"activation": ..., "negative_slope": ...}} as the given config names them (before
    settle_version drops a declared default)."""
    out = {}
    for n in config.get("networks", []) if isinstance(config, dict) else []:
        if isinstance(n, dict) and isinstance(n.get("head"), dict):
            out[n.get("name")] = {k: n["head"][k] for k in ("activation", "negative_slope") if k in n["head"]}
    return out


def decide(seen, name, layout, head_cfg, said, named, checked):
    """Settle one head's activation; yields (problem kind or "note", text) and sets head_cfg's fields.

    seen: find()'s result for the head; said: the activation fields the config gave it; named: a state-dict
    layout already refused its activation by name; checked: a --module will compare the export."""
    bad = [(k, mods) for (k, _, ok), mods in seen.items() if not ok]
    for kind, mods in bad:
        yield "activation", "network %r head uses %s (%s, ...)" % (name, kind, mods[0])
    good = sorted({(k, s) for (k, s, ok) in seen if ok})
    if len(good) > 1:
        yield "activation", "network %r head mixes activations %s; the format has one per head" % (
            name, ", ".join("%s(%g)" % g if g[0] == "leaky_relu" else g[0] for g in good))
    elif good:
        kind, slope = good[0]
        was = said.get("activation", "relu")
        was_slope = float(said.get("negative_slope", cfgmod.LEAKY_RELU_SLOPE)) if was == "leaky_relu" else 0.0
        if said and (was, was_slope) != (kind, slope):
            yield "activation", "network %r: the config's head activation is %s, the module's %s" % (name, was, kind)
        head_cfg["activation"] = kind
        if kind == "leaky_relu":
            head_cfg["negative_slope"] = slope
        yield "note", "network %r: head activation %s, from the module" % (name, kind)
    elif layout == "deepctr" and not said and not bad and not named:
        if checked:
            yield "note", "network %r: head activation relu assumed (DeepCTR's default); --module checks it" % name
        else:
            yield "activation", ("network %r: DeepCTR's dnn_activation (relu by default; sigmoid, tanh, leaky ReLU) "
                                 "leaves no tensors, so it must be named: --head-activation NAME, \"activation\" in "
                                 "the config's head, or --module" % name)
