#!/usr/bin/env python3
"""FLOPs of a renal-mtl model config by PyTorch forward hooks, independent of the engine's graph.

  bench_flops.py EXPORT_DIR CONFIG.json CASES SIZE  -> one integer: 2 x the multiply-accumulates of every
                                                      Conv3d and Linear in one forward of CASES cases of
                                                      SIZE^3 voxels per phase (the reference modules of
                                                      weights/export/renal_mtl, random weights)
"""
import json
import sys

import torch


def flops(model, x):
    """2 x the multiply-accumulates of every Conv3d and Linear of one forward of model on x."""
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv3d):
            k = mod.kernel_size
            macs[0] += out.numel() * (mod.in_channels // mod.groups) * k[0] * k[1] * k[2]
        elif isinstance(mod, torch.nn.Linear):
            macs[0] += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return 2 * macs[0]


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    from renal_mtl.model import RenalModel  # noqa: E402

    with open(sys.argv[2]) as f:
        config = json.load(f)
    cases, size = int(sys.argv[3]), int(sys.argv[4])
    print(flops(RenalModel(config).eval(), torch.zeros(cases, len(config["phases"]), size, size, size)))
