#!/usr/bin/env python3
"""Reference facts about the R18-3P-96 MTDL model from the PyTorch definition in weights/export.

  model_facts.py EXPORT_DIR   -> JSON: parameters (trainable, all networks), backbone_parameters,
                                 buffers (BatchNorm running statistics), gflop (2 x conv/linear MACs per
                                 case, counted with forward hooks on a 1 x 3 x 96^3 input)
"""
import json
import os
import sys

import torch

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_flops import flops  # noqa: E402
from renal_mtl import config as cfgmod  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402

model = RenalModel(cfgmod.r18_3p_96_mtdl()).eval()
params = sum(p.numel() for p in model.parameters())
backbone = sum(p.numel() for n, p in model.named_parameters() if n.startswith("backbone."))
buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
print(json.dumps({"parameters": params, "backbone_parameters": backbone, "buffers": buffers,
                  "gflop": flops(model, torch.zeros(1, 3, 96, 96, 96)) / 1e9}))
