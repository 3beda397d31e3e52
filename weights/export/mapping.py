"""A foreign checkpoint's state dict onto FORMAT.md names for a config: the heart of ``export.py --checkpoint``.

Per network: its backbone(s) are found (a prefix holding ``conv1.weight`` and ``layer1.0.conv1.weight``, or the
one named by ``--backbone-prefix``), what the weights tell replaces the config's (backbones.infer), the geometry
they do not tell comes from the preset or the config, and a checkpoint that shows its project (backbones.evidence)
must agree with that project's fixed geometry unless ``--module`` checks the export. Its head is found by a
layout's marker key (or ``--head-prefix``) and mapped by head_maps; its structure comes from the shapes, its hidden
activation from the config, a pickled module or ``--module``. Every problem is collected before anything is
refused (problems.Problems).
"""

import json
import re

import activations
import backbones
import head_maps
from h5io import tensor_problems
from problems import ExportError, Problems
from renal_mtl import config as cfgmod
from renal_mtl.config import ConfigError
from renal_mtl.model import RenalModel

_BACKBONE_KEEP = re.compile(r"^(conv1\.|bn1\.|layer[1-4]\.)")
_BACKBONE_DROP = re.compile(r"^(fc|conv_seg)\.")


class Mapping:
    """config (with what the checkpoint showed), tensors {FORMAT name: tensor}, sources {FORMAT name: source key},
    notes (what was read, assumed and dropped)."""

    def __init__(self, config, tensors, sources, notes):
        self.config = config
        self.tensors = tensors
        self.sources = sources
        self.notes = notes


def under(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def detect_backbones(state):
    """Prefixes under which a ResNet (``conv1.weight`` + ``layer1.0.conv1.weight``) lives, sorted."""
    marker = "layer1.0.conv1.weight"
    out = [k[:-len(marker)] for k in state if k.endswith(marker) and k[:-len(marker)] + "conv1.weight" in state]
    return sorted(out, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)])


def _changed(where, old, new, notes):
    """Notes where the checkpoint replaced a config value."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in new:
            if k in old:
                _changed("%s.%s" % (where, k), old[k], new[k], notes)
    elif old != new:
        notes.append("%s: the config says %s, the checkpoint has %s; using the checkpoint's"
                     % (where, json.dumps(old), json.dumps(new)))


class _Run:
    """State of one map_checkpoint call."""

    def __init__(self, state, config, args, declared):
        self.state = state
        self.config = config
        self.args = args
        self.declared = declared  # {network: the activation fields its head had in the config given}
        self.problems = Problems()
        self.notes = []
        self.claimed = set()
        self.dropped = []
        self.tensors = {}
        self.sources = {}

    def backbone_sources(self, net, n_bb, targets):
        found = detect_backbones(self.state)
        srcs = self.args.backbone_prefixes.get(net["name"])
        if srcs is None:
            if all(t in found for t in targets):
                return targets
            if len(self.config["networks"]) == 1 and len(found) == n_bb:
                return found
            self.problems.add("structure", "network %r: cannot tell which of the ResNets found (%s) are its %d "
                              "backbone(s); name them with --backbone-prefix %s=PREFIX[,PREFIX...]"
                              % (net["name"], ", ".join(repr(p) for p in found) or "none", n_bb, net["name"]))
            return []
        if len(srcs) != n_bb:
            self.problems.add("structure", "network %r needs %d backbone prefixes, got %d" % (net["name"], n_bb,
                                                                                             len(srcs)))
            return []
        return srcs

    def backbone(self, net):
        name, n_phases = net["name"], len(self.config["phases"])
        n_bb = n_phases if net["fusion"] == "separate" else 1
        targets = ["%sbackbones.%d." % (net["prefix"], i) for i in range(n_bb)] if net["fusion"] == "separate" \
            else ["%sbackbone." % net["prefix"]]
        srcs = self.backbone_sources(net, n_bb, targets)
        preset = self.args.presets.get(name, self.args.presets.get(None))
        bb = backbones.apply_preset(net["backbone"], preset) if preset else dict(net["backbone"])
        source = "preset %s" % preset if preset else "the config"
        for src, dst in zip(srcs, targets):
            sub = under(self.state, src)
            if not any(k.startswith("layer1.") for k in sub):
                self.problems.add("structure", "network %r: no ResNet under prefix %r" % (name, src))
                continue
            found, probs = backbones.infer(sub)
            self.problems.extend("unrepresentable",
                                 ("network %r backbone under %r: %s" % (name, src, p) for p in probs))
            if probs:
                continue
            self._read_weights(net, bb, found, preset, src)
            self._check_evidence(name, bb, sub, preset, src)
            self._backbone_activations(name, src)
            for k, v in sub.items():
                if _BACKBONE_DROP.match(k):
                    self.claimed.add(src + k)
                    self.dropped.append((src + k, "the classifier or segmentation decoder on top of the ResNet"))
                elif _BACKBONE_KEEP.match(k):
                    self.claimed.add(src + k)
                    self.tensors[dst + k] = v
                    self.sources[dst + k] = src + k
        if srcs:
            check = "checked against --module" if self.args.checked else \
                "not checked against your training code (--module checks it)"
            self.notes.append("network %r backbone %s: %s; depth, widths, input channels, stem kernel and shortcut "
                              "from the weights, stem stride/padding/max-pool, strides and dilations from %s; %s"
                              % (name, ", ".join(repr(s) for s in srcs), backbones.describe(bb), source, check))
        net["backbone"] = bb

    def _read_weights(self, net, bb, found, preset, src):
        where = "network %r backbone" % net["name"]
        if preset and found["depth"] != bb["depth"]:
            flavour = backbones.PRESETS[preset]["flavour"]
            self.problems.add("geometry", "%s under %r: preset %s is a ResNet-%d, the checkpoint's is a ResNet-%d "
                              "(--preset %s-r%d)" % (where, src, preset, bb["depth"], found["depth"], flavour,
                                                     found["depth"]))
        new = {"depth": found["depth"], "widths": found["widths"], "in_channels": found["in_channels"],
               "downsample_bias": found["downsample_bias"]}
        if "shortcut" in found:
            new["shortcut"] = found["shortcut"]
        if found["stem_kernel"] != bb["stem"]["kernel"]:
            # every project pads its stem by kernel // 2
            new["stem"] = dict(bb["stem"], kernel=found["stem_kernel"], padding=[k // 2 for k in found["stem_kernel"]])
        _changed(where, {k: bb[k] for k in new}, new, self.notes)
        bb.update(new)

    def _check_evidence(self, name, bb, sub, preset, src):
        meta = self.args.meta
        ev = backbones.evidence(sub, meta)
        if isinstance(meta.get("arch"), str):
            depth = backbones.hara_depth(meta["arch"])
            if depth is None:
                self.problems.add("unrepresentable", "the checkpoint's arch %r is not one of Hara's plain ResNets "
                                  "(resnet-10/18/34/50)" % meta["arch"])
            elif depth != bb["depth"]:
                self.problems.add("structure", "the checkpoint's arch %r does not match its weights (ResNet-%d)"
                                  % (meta["arch"], bb["depth"]))
        if ev is None or preset:
            return
        flavour, why = ev
        wrong = backbones.contradictions(flavour, bb)
        if not wrong:
            unusual = backbones.default_differences(flavour, bb)
            self.notes.append("network %r: the checkpoint looks like %s (%s); the config agrees with its fixed "
                              "geometry%s" % (name, backbones.PROJECTS[flavour], why, "" if not unusual else
                                              "; WARNING: %s differ from its defaults: if you trained with them, "
                                              "--preset %s-r%d" % (", ".join(unusual), flavour, bb["depth"])))
            return
        item = ("network %r backbone under %r looks like %s (%s), but the config has %s (--preset %s-r%d)"
                % (name, src, backbones.PROJECTS[flavour], why, "; ".join(wrong), flavour, bb["depth"]))
        if self.args.checked:
            self.notes.append(item + "; --module decides")
        else:
            self.problems.add("geometry", item)

    def _backbone_activations(self, name, src):
        for (kind, _, _), mods in activations.find(self.args.modules, activations.in_backbone(src)).items():
            if kind != "relu":
                self.problems.add("activation", "network %r backbone uses %s (%s): the engine's ResNets use ReLU"
                                  % (name, kind, mods[0]))

    def head(self, net):
        name, own = net["name"], net["prefix"] + "head."
        hp = self.args.head_prefixes.get(name)
        if hp is None:
            heads = head_maps.detect(self.state)
            if net["head"]["type"] == "mlp" or any(p == own and lay == "renal-mtl" for p, lay in heads):
                hp, layout = own, "renal-mtl"
            elif len(self.config["networks"]) == 1 and len(heads) == 1:
                hp, layout = heads[0]
            else:
                self.problems.add("structure", "network %r: cannot tell which PLE head is its own (found %s); name it "
                                  "with --head-prefix %s=PREFIX" % (name, ", ".join(repr(h) for h in heads) or "none",
                                                                    name))
                return
        else:
            heads = head_maps.detect(self.state, hp)
            layout = heads[0][1] if heads else "renal-mtl"
        sub = under(self.state, hp)
        declared = self.declared.get(name, {})
        hm = head_maps.map_own(sub, net["head"]) if layout == "renal-mtl" else head_maps.MAPPERS[layout](sub)
        if hm.n_tasks is not None and hm.n_tasks != len(net["tasks"]):
            self.problems.add("structure", "network %r: the %s head under %r predicts %d tasks, the config names %d"
                              % (name, head_maps.LAYOUT_NAMES[layout], hp, hm.n_tasks, len(net["tasks"])))
        for kind, item in hm.problems:
            self.problems.add(kind, "network %r head under %r: %s" % (name, hp, item))
        head_cfg = dict(hm.config)
        if layout != "renal-mtl":
            head_cfg.update(declared)
            _changed("network %r head" % name, net["head"], head_cfg, self.notes)
            self.notes.append("network %r: head read as %s under prefix %r"
                              % (name, head_maps.LAYOUT_NAMES[layout], hp))
        if hm.folded_input is not None:
            self.notes.append("network %r: easezyc's numerical_layer (%d features in) folded into the level-0 experts "
                              "and gates" % (name, hm.folded_input))
        named = any(kind == "activation" for kind, _ in hm.problems)  # PReLU, Dice: refused by name already
        backbone_srcs = detect_backbones(self.state)
        seen = activations.find(self.args.modules, lambda n: (n + ".").startswith(hp) and not any(
            activations.in_backbone(p)(n) for p in backbone_srcs))
        for kind, item in activations.decide(seen, name, layout, head_cfg, declared, named, self.args.checked):
            if kind == "note":
                self.notes.append(item)
            else:
                self.problems.add(kind, item)
        net["head"] = head_cfg
        self.claimed.update(hp + k for k in hm.claimed)
        self.dropped.extend((hp + k, why) for k, why in hm.dropped)
        for k, v in hm.tensors.items():
            self.tensors[own + k] = v
            self.sources[own + k] = hp + hm.sources[k]


class _Args:
    def __init__(self, backbone_prefixes, head_prefixes, presets, meta, modules, checked):
        self.backbone_prefixes = dict(backbone_prefixes or {})
        self.head_prefixes = dict(head_prefixes or {})
        self.presets = dict(presets or {})
        self.meta = dict(meta or {})
        self.modules = list(modules or [])
        self.checked = checked


def map_checkpoint(state, config, backbone_prefixes=None, head_prefixes=None, drop=None, where="checkpoint",
                   presets=None, meta=None, modules=(), checked=False):
    """Map a normalised state dict onto FORMAT.md names for config; returns a :class:`Mapping`.

    backbone_prefixes: {network: [source prefix per backbone]}; head_prefixes: {network: source prefix};
    presets: {network or None (every network): preset name}; meta: top-level checkpoint entries
    (checkpoints.Loaded.meta); modules: (key prefix, nn.Module) whose activation modules are read (a pickled
    model, the --module); checked: a --module will compare the result, so evidence of a project whose geometry
    the config contradicts is a note, not an error. drop: regular expressions of source keys to ignore.
    Raises ExportError listing every problem at once.
    """
    config = json.loads(json.dumps(config))
    declared = activations.declared(config)
    if isinstance(config, dict) and config.get("format_version") in cfgmod.FORMAT_VERSIONS:
        cfgmod.settle_version(config)  # the config is a template: a version-2 field makes it version 2
    try:
        cfgmod.validate(config)
    except ConfigError as e:
        raise ExportError("config: %s" % e)
    unknown = sorted(set((presets or {}).values()) - set(backbones.PRESETS))
    if unknown:
        raise ExportError("--preset %s: known presets are %s"
                          % (", ".join(unknown), ", ".join(sorted(backbones.PRESETS))))
    run = _Run(state, config, _Args(backbone_prefixes, head_prefixes, presets, meta, modules, checked), declared)
    for net in config["networks"]:
        run.backbone(net)
        run.head(net)
    drops = [re.compile(d) for d in (drop or [])]
    run.problems.extend("unmapped", sorted(k for k in state
                                           if k not in run.claimed and not any(d.search(k) for d in drops)))
    for why, keys in sorted(_by_reason(run.dropped).items()):
        modules = sorted({k.rsplit(".", 1)[0] for k in keys})
        run.notes.append("dropped %d keys (%s): %s%s" % (len(keys), why, ", ".join(modules[:10]),
                                                         " ..." if len(modules) > 10 else ""))
    cfgmod.settle_version(config)
    try:
        cfgmod.validate(config)
        model = RenalModel(config)
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        tensor_problems(run.problems, expected, {k: v.numpy() for k, v in run.tensors.items()})
    except ConfigError as e:
        run.problems.add("structure", str(e))
    run.problems.raise_if_any(where)
    return Mapping(config, run.tensors, run.sources, run.notes)


def _by_reason(dropped):
    out = {}
    for key, why in dropped:
        out.setdefault(why, []).append(key)
    return out
