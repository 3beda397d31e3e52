#!/usr/bin/env python3
"""Export models to the renal-mtl HDF5 weight format (weights/FORMAT.md) and read them back.

Functions
  save_h5(model, path, fp16=False)      RenalModel -> HDF5
  load_h5(path) -> RenalModel           HDF5 -> RenalModel (checks names, shapes, finiteness)
  export_checkpoint(ckpts, config, out) checkpoint file(s) + config JSON -> HDF5 (mapping.py maps MedicalNet /
                                        Hara / MONAI backbones and DeepCTR-Torch / easezyc PLE heads)

CLI
  export.py --checkpoint [PREFIX=]FILE [--checkpoint ...] --config config.json --out model.h5 [--fp16]
            [--preset [NET=]NAME] [--module PKG.MOD:FACTORY|FILE.pt] [--head-activation NAME[:SLOPE]]
            [--backbone-prefix NET=PREFIX ...]
            [--head-prefix NET=PREFIX ...] [--drop REGEX ...] [--trust-pickle]
  export.py --named r18_3p_96_mtdl --seed 0 [--condition] --out model.h5   (random weights, benchmarks)
  export.py --print-config r18_3p_96_mtdl [--preset NAME] > config.json     (a named config's JSON)
  export.py --nnunet MODEL_FOLDER --fold 0 [--checkpoint checkpoint_final.pth] --out seg.h5
            [--tumour-label L] [--kidney-label L] [--phases P[,P...]]      (nnunet_export.py; FORMAT.md
                                                                            "Segmentation models")
Errors on stderr, "export.py: error: FILE: ..." (with several problems: a count, then per kind its count,
a hint and at most ten of them, one per line), exit code 2; no partial output file. Notes on stderr say
what was read from the checkpoint, what was assumed (the backbone geometry) and what was dropped.
"""

import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backbones  # noqa: E402
import checkpoints as checkpoints_mod  # noqa: E402
import mapping  # noqa: E402
import user_module  # noqa: E402
from h5io import (CONFIG_ATTR, _atomic_write, build_model, check_tensors, load_h5, model_tensors,  # noqa: E402,F401
                  read_h5, save_h5, write_arrays, write_h5, write_text)
from problems import ExportError, Problems  # noqa: E402,F401
from renal_mtl import config as cfgmod  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402
#: --module compares on a random input of the config's size capped at this per axis: every geometry and
#: activation error shows at this size, and a 96^3 R18 pair would take a minute on two cores
CHECK_SIZE = 48


def export_checkpoint(checkpoints, config_path, out, fp16=False, backbone_prefixes=None, head_prefixes=None,
                      drop=None, trust_pickle=False, presets=None, module=None, head_activation=None):
    """Checkpoint files (``[PREFIX=]FILE`` each, or one path) + config JSON -> FORMAT.md HDF5 at out.

    presets: {network or None: preset name}; module: ``pkg.mod:factory`` or a TorchScript file whose output the
    export must reproduce (user_module.py); head_activation: ``NAME[:SLOPE]`` for every head, as if the config's
    heads said so. Returns the notes; raises ExportError (nothing written)."""
    if isinstance(checkpoints, str):
        checkpoints = [checkpoints]
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ExportError("%s: cannot read config JSON: %s" % (config_path, e))
    if isinstance(config, dict):
        config["producer"] = cfgmod.producer()
        if head_activation:
            _set_head_activation(config, head_activation)
    loaded = checkpoints_mod.load_all(checkpoints, trust_pickle)
    user, keymap = None, None
    modules = [(prefix, m, None) for prefix, m in loaded.modules]
    if module:
        try:
            user = user_module.load(module)
        except ValueError as e:
            raise ExportError(str(e))
        keymap = user_module.KeyMap(user, loaded.state)
        modules.append(("", user, keymap))
    where = ", ".join(checkpoints_mod.parse_spec(c)[0] for c in checkpoints)
    m = mapping.map_checkpoint(loaded.state, config, backbone_prefixes, head_prefixes, drop, where, presets,
                               loaded.meta, modules, checked=user is not None)
    notes = loaded.notes + m.notes
    if user is not None:
        notes.append(verify(user, keymap, m, loaded.state, where))
    write_h5(out, m.config, m.tensors, fp16=fp16)
    return notes


def _set_head_activation(config, spec):
    name, _, slope = spec.partition(":")
    if name not in cfgmod.ACTIVATIONS or (slope and name != "leaky_relu"):
        raise ExportError("--head-activation %s: expected one of %s (leaky_relu:SLOPE for another slope than 0.01)"
                          % (spec, ", ".join(cfgmod.ACTIVATIONS)))
    for net in config.get("networks", []):
        head = net.get("head") if isinstance(net, dict) else None
        if isinstance(head, dict):
            head["activation"] = name
            head.pop("negative_slope", None)
            if slope:
                try:
                    head["negative_slope"] = float(slope)
                except ValueError:
                    raise ExportError("--head-activation %s: %r is not a number" % (spec, slope))


def verify(user, keymap, m, state, where):
    """Refuse (ExportError) unless the exported model computes what the user's module computes; the note if so."""
    problems = Problems()
    missing = user_module.load_state(user, keymap, state)
    if missing:
        problems.extend("mismatch", ("your module's tensor %s" % k for k in missing))
        problems.raise_if_any(where + " against --module")
    reference = build_model(m.config, {k: v.numpy() for k, v in m.tensors.items()}, "mapped tensors")
    size = [min(int(s), CHECK_SIZE) for s in m.config["input"]["size"]]
    problems.extend("mismatch", user_module.compare(user, keymap, reference, m.sources, size))
    problems.raise_if_any(where + " against --module")
    return "checked against --module: the same probabilities (within %g) on a random %s input" % (
        user_module.PROB_ATOL, "x".join(map(str, [2, len(m.config["phases"])] + size)))


def print_config(name, presets):
    """A named config's JSON, with a preset's backbone geometry when one is given."""
    cfg = cfgmod.NAMED[name]()
    for net in cfg["networks"]:
        preset = presets.get(net["name"], presets.get(None))
        if preset:
            if preset not in backbones.PRESETS:
                raise ExportError("--preset %s: known presets are %s" % (preset, ", ".join(sorted(backbones.PRESETS))))
            net["backbone"] = backbones.apply_preset(net["backbone"], preset)
    return cfgmod.to_json(cfgmod.validate(cfg))


def _prefix_args(values, option, split):
    out = {}
    for v in values or []:
        if "=" not in v:
            raise ExportError("%s %r: expected NETWORK=PREFIX" % (option, v))
        name, pfx = v.split("=", 1)
        out[name] = pfx.split(",") if split else pfx
    return out


def _preset_args(values):
    """--preset NAME (every network) or NET=NAME."""
    out = {}
    for v in values or []:
        net, _, name = v.rpartition("=")
        out[net or None] = name
    return out


def _parser():
    ap = argparse.ArgumentParser(prog="export.py", description="Export a model to renal-mtl HDF5 (FORMAT.md).")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--nnunet", metavar="MODEL_FOLDER",
                     help="an nnU-Net v2 trained-model folder (plans.json, dataset.json, fold_N/): write one fold "
                          "as a segmentation file (FORMAT.md, 'Segmentation models')")
    ap.add_argument("--checkpoint", action="append", metavar="[PREFIX=]FILE",
                    help=".pt/.pth file: a state dict, {'state_dict': ...} (MedicalNet, Hara), {'net': ...} "
                         "(MONAI/Ignite), {'model': ...}, or a pickled module; repeat to merge files (a backbone file "
                         "and a head file); PREFIX. puts a file's keys under PREFIX. With --nnunet: the checkpoint's "
                         "file name in fold_N (default checkpoint_final.pth)")
    ap.add_argument("--fold", default="0", help="with --nnunet: the fold (an integer or 'all'; default 0)")
    ap.add_argument("--tumour-label", help="with --nnunet: the dataset.json label that is the tumour (renal_mtl block)")
    ap.add_argument("--kidney-label", help="with --nnunet: the dataset.json label that is the kidney (renal_mtl block)")
    ap.add_argument("--phases", help="with --nnunet: comma-separated phase of each input channel (renal_mtl block)")
    src.add_argument("--named", choices=sorted(cfgmod.NAMED), help="a named config with seeded random weights")
    src.add_argument("--print-config", choices=sorted(cfgmod.NAMED), help="print a named config's JSON and exit "
                                                                          "(with --preset: that backbone geometry)")
    ap.add_argument("--config", help="config JSON (FORMAT.md) describing the checkpoint's model")
    ap.add_argument("--preset", action="append", metavar="[NET=]NAME",
                    help="backbone geometry as its project defines it: %s" % ", ".join(sorted(backbones.PRESETS)))
    ap.add_argument("--module", metavar="PKG.MOD:FACTORY|FILE.pt",
                    help="your PyTorch model (factory() -> nn.Module, or TorchScript) with forward(x (B, P, D, H, W)) "
                         "-> probabilities (B, T): the export is refused unless it computes the same")
    ap.add_argument("--head-activation", metavar="NAME[:SLOPE]",
                    help="the hidden activation of every head: relu, sigmoid, tanh, leaky_relu[:SLOPE] (DeepCTR's "
                         "dnn_activation, which its state dict does not show)")
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
    ap.add_argument("--trust-pickle", action="store_true",
                    help="torch.load with weights_only=False: needed for a pickled module or a class the restricted "
                         "loader does not build; runs code from the file, only for files you trust")
    return ap


def main(argv=None):
    ap = _parser()
    args = ap.parse_args(argv)
    try:
        presets = _preset_args(args.preset)
        if args.print_config:
            print(print_config(args.print_config, presets))
            return 0
        if not (args.nnunet or args.named or args.checkpoint):
            ap.error("one of --checkpoint, --named, --nnunet, --print-config is required")
        if args.named and args.checkpoint:
            ap.error("--checkpoint and --named are alternatives")
        if not args.out:
            ap.error("--out is required")
        if args.nnunet:
            return _main_nnunet(args)
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
                raise ExportError("--checkpoint needs --config CONFIG.json (export.py --print-config r18_3p_96_mtdl "
                                  "[--preset NAME] writes one to start from)")
            notes = export_checkpoint(args.checkpoint, args.config, args.out, args.fp16,
                                      _prefix_args(args.backbone_prefix, "--backbone-prefix", True),
                                      _prefix_args(args.head_prefix, "--head-prefix", False), args.drop,
                                      args.trust_pickle, presets, args.module, args.head_activation)
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
        if args.checkpoint and len(args.checkpoint) > 1:
            raise nnunet_export.NnUnetError("--nnunet takes one --checkpoint (a file name in fold_%s)" % fold)
        config = nnunet_export.export_nnunet(args.nnunet, fold, args.out,
                                             args.checkpoint[0] if args.checkpoint else "checkpoint_final.pth",
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
