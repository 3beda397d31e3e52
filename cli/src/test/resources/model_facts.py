#!/usr/bin/env python3
"""Reference facts about the R18-3P-96 MTDL model from the PyTorch definition in weights/export.

  model_facts.py EXPORT_DIR   -> JSON: parameters (trainable, all networks), backbone_parameters,
                                 buffers (BatchNorm running statistics), gflop (2 x conv/linear MACs per
                                 case, counted with forward hooks on a 1 x 3 x 96^3 input)
"""
import json
import sys

import torch

sys.path.insert(0, sys.argv[1])
from renal_mtl import config as cfgmod  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402

model = RenalModel(cfgmod.r18_3p_96_mtdl()).eval()
params = sum(p.numel() for p in model.parameters())
backbone = sum(p.numel() for n, p in model.named_parameters() if n.startswith("backbone."))
buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
macs = [0]


def hook(mod, inp, out):
    if isinstance(mod, torch.nn.Conv3d):
        k = mod.kernel_size
        macs[0] += out.numel() * (mod.in_channels // mod.groups) * k[0] * k[1] * k[2]
    elif isinstance(mod, torch.nn.Linear):
        macs[0] += out.numel() * mod.in_features


for m in model.modules():
    m.register_forward_hook(hook)
with torch.no_grad():
    model(torch.zeros(1, 3, 96, 96, 96))
print(json.dumps({"parameters": params, "backbone_parameters": backbone, "buffers": buffers,
                  "gflop": 2 * macs[0] / 1e9}))
