#!/usr/bin/env python3
"""Oracle fixtures for the Java segmentation engine: small nnU-Net v2 networks, exported, with PyTorch's answers.

  make_seg_fixtures.py --out DIR [--seed N] [--keep-folders]

For each case a synthetic nnU-Net model folder is written (make_nnunet_folder.py, in a temporary directory, or
DIR/<case>.nnunet/ with --keep-folders) and exported with ``export.py --nnunet`` (nnunet_export.export_nnunet):
  DIR/<case>.h5          the segmentation weight file (FORMAT.md "Segmentation models")
  DIR/<case>.io.h5       input_n1      float32 (1, C, D, H, W)   one patch (patch_size of the config)
                         logits_n1     float64 (1, K, D, H, W)   the network (a float64 copy) on input_n1
                         input_n2      float32 (2, C, D, H, W)   two patches (a batch)
                         logits_n2     float64 (2, K, D, H, W)
                         @case, @seed, @torch_version
  DIR/<case>.layers.h5   PyTorch's output of every block on input_n1, computed in float64, stored as float32
                         (6e-8 relative rounding; the engine computes in float32 anyway), named as the Java graph
                         names its nodes (table below); @order: the names in the order PyTorch computed them (JSON)
  DIR/manifest.json      the cases (class, channels, classes, patch, regions, files, the layer names, and how far
                         PyTorch's own float32 forward lands from the float64 logits) and the seed

Node names = module paths of the network (``SegUNet``, DNA's nesting), one per block:

| name                                     | case class          | output                                           |
|------------------------------------------|---------------------|--------------------------------------------------|
| encoder.stages.{s}.0.convs.{c}           | PlainConvUNet       | LeakyReLU(InstanceNorm(conv(x)))                 |
| encoder.stem.convs.0                     | ResidualEncoderUNet | LeakyReLU(InstanceNorm(conv(x))), stride 1       |
| encoder.stages.{s}.blocks.{b}.conv1      | ResidualEncoderUNet | LeakyReLU(InstanceNorm(conv(x))), block stride   |
| encoder.stages.{s}.blocks.{b}.conv2      | ResidualEncoderUNet | InstanceNorm(conv(.)), no activation, before add |
| encoder.stages.{s}.blocks.{b}.skip       | ResidualEncoderUNet | InstanceNorm(conv1x1(AvgPool(x, k=s=stride)))    |
|                                          |                     | (AvgPool only if strided; present only in blocks |
|                                          |                     | that stride or change width)                     |
| encoder.stages.{s}.blocks.{b}            | ResidualEncoderUNet | LeakyReLU(conv2 + (skip or x))                   |
| decoder.transpconvs.{i}                  | both                | ConvTranspose3d(kernel = stride) of the stage    |
|                                          |                     | below (i = 0: the bottleneck)                    |
| decoder.stages.{i}.convs.{c}             | both                | LeakyReLU(InstanceNorm(conv(.))); c = 0 reads    |
|                                          |                     | cat(transpconvs.{i} output, encoder skip)        |
| decoder.seg_layers.{n-2}                 | both                | the logits (1x1x1 conv with bias)                |

Decoder stage i (0 = lowest resolution) pairs with encoder stage n-2-i; its skip is that stage's output (for the
plain encoder, ``encoder.stages.{n-2-i}.0.convs.{last}``; for the residual one ``encoder.stages.{n-2-i}.blocks.
{last}``). plain5_2ch has no layers file (plain4 covers the same blocks; it keeps the fixtures at ~8 MB).
Deterministic for a seed; about a second.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export  # noqa: E402
import make_nnunet_folder  # noqa: E402
import nnunet_export  # noqa: E402
from renal_mtl.unet import BasicBlockD, ConvNormAct  # noqa: E402

CASES = [
    # name, description, make_model_folder kwargs
    ("plain4", "PlainConvUNet, 4 stages 4..32 features, anisotropic stage 0 (kernel 1x3x3) and stage 1 stride "
               "(1,2,2), label-based (background, kidney, tumor, cyst), 1 CT channel",
     dict(cls="PlainConvUNet", regions=False, features=(4, 8, 16, 32), patch=(16, 32, 32))),
    ("resenc4_regions", "ResidualEncoderUNet (BasicBlockD, blocks 1,2,2,2, decoder 1 conv), 4 stages 4..32, "
                        "anisotropic, region-based KiTS23 regions (kidney, masses, tumor), 1 CT channel",
     dict(cls="ResidualEncoderUNet", regions=True, features=(4, 8, 16, 32), patch=(8, 16, 32))),
    ("plain5_2ch", "PlainConvUNet, 5 stages 4..32 (capped), decoder convs 1,2,1,2, two input channels (CT, "
                   "ZScore), label-based, no mirroring allowed",
     dict(cls="PlainConvUNet", regions=False, features=(4, 8, 16, 32, 32), patch=(16, 32, 32), layers=False,
          channels=("CT", "T2"), dec=[1, 2, 1, 2], mirror=())),
]


def layer_goldens(model, x):
    """{node name: output} of every block (table above), in computation order."""
    outputs = {}
    hooks = []

    def keep(name):
        def hook(_module, _inputs, output):
            outputs[name] = output.detach().clone()  # later in-place ops (+=, LeakyReLU) would change it
        return hook

    last_seg = "decoder.seg_layers.%d" % (len(model.decoder.seg_layers) - 1)
    for name, m in model.named_modules():  # named_modules skips the aliases (decoder.encoder, all_modules)
        wanted = ((isinstance(m, ConvNormAct) and ".skip." not in name) or isinstance(m, BasicBlockD)
                  or isinstance(m, nn.ConvTranspose3d) or name == last_seg
                  or (name.endswith(".skip") and isinstance(m, nn.Sequential)))
        if wanted:
            hooks.append(m.register_forward_hook(keep(name)))
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return outputs, logits


def make_case(name, desc, kw, seed, out, keep_folders):
    kw = dict(kw)
    with_layers = kw.pop("layers", True)
    folder = os.path.join(out, name + ".nnunet") if keep_folders else tempfile.mkdtemp(prefix="nnunet-")
    try:
        net, model = make_nnunet_folder.make_model_folder(folder, seed=seed, **kw)
        config = nnunet_export.export_nnunet(folder, "0", os.path.join(out, name + ".h5"))
    finally:
        if not keep_folders:
            shutil.rmtree(folder, ignore_errors=True)
    gen = torch.Generator().manual_seed(seed * 1000 + 7)
    c, patch = net["input_channels"], list(config["patch_size"])
    x1 = torch.randn([1, c] + patch, generator=gen)
    x2 = torch.randn([2, c] + patch, generator=gen)
    m64 = make_nnunet_folder.SegUNet(net).double().eval()
    m64.load_state_dict(model.state_dict())
    with torch.no_grad():
        y1_32 = model(x1)
        y2 = m64(x2.double())
    layers, y1 = layer_goldens(m64, x1.double())

    def io_writer(tmp):
        with h5py.File(tmp, "w", libver="earliest") as f:
            f.attrs.create("case", name, dtype=h5py.string_dtype("utf-8"))
            f.attrs["seed"] = np.int64(seed)
            f.attrs.create("torch_version", torch.__version__, dtype=h5py.string_dtype("utf-8"))
            f.create_dataset("input_n1", data=x1.numpy())
            f.create_dataset("logits_n1", data=y1.numpy())
            f.create_dataset("input_n2", data=x2.numpy())
            f.create_dataset("logits_n2", data=y2.numpy())

    def layers_writer(tmp):
        with h5py.File(tmp, "w", libver="earliest") as f:
            f.attrs.create("case", name, dtype=h5py.string_dtype("utf-8"))
            f.attrs.create("order", json.dumps(list(layers)), dtype=h5py.string_dtype("utf-8"))
            for k, v in layers.items():
                f.create_dataset(k, data=v.numpy().astype(np.float32))

    export._atomic_write(os.path.join(out, name + ".io.h5"), io_writer)
    if with_layers:
        export._atomic_write(os.path.join(out, name + ".layers.h5"), layers_writer)
    return {"case": name, "description": desc, "class": net["class"], "input_channels": c,
            "num_classes": net["num_classes"], "patch_size": patch, "region_based": config["regions_class_order"]
            is not None, "batches": [1, 2], "files": dict({"weights": name + ".h5", "io": name + ".io.h5"},
                                                           **({"layers": name + ".layers.h5"} if with_layers else {})),
            "layers": list(layers) if with_layers else [],
            # how far PyTorch's own float32 forward is from the float64 logits (a yardstick for tolerances)
            "pytorch_f32_max_abs_error_n1": float((y1_32.double() - y1).abs().max()),
            "logits_n1_max_abs": float(y1.abs().max())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep-folders", action="store_true", help="keep the nnU-Net model folders as DIR/<case>.nnunet")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t0 = time.time()
    cases = [make_case(n, d, kw, args.seed + i, args.out, args.keep_folders) for i, (n, d, kw) in enumerate(CASES)]
    manifest = {"seed": args.seed, "torch_version": torch.__version__, "format": nnunet_export.FORMAT,
                "format_version": nnunet_export.FORMAT_VERSION, "cases": cases}
    export.write_text(os.path.join(args.out, "manifest.json"), json.dumps(manifest, indent=1) + "\n")
    print("make_seg_fixtures: %d cases in %s (%.1f s)" % (len(cases), args.out, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
