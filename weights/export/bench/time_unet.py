#!/usr/bin/env python3
"""One-off timing (not a test): one 1x1x128^3 patch through nnU-Net's default 6-stage PlainConvUNet
(32..320 features, strides [1,2,2,2,2,2]) with random weights in PyTorch on the CPU, for comparison with
engine/src/test/java/org/renalmtl/engine/UNetTiming.java.

  time_unet.py [threads] [runs] [S.h5]   (with a segmentation weight file: its network at its patch, 1 tile)
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from renal_mtl.unet import SegUNet  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(threads)
torch.manual_seed(1)
net = {"class": "PlainConvUNet", "input_channels": 1, "num_classes": 4,
       "features_per_stage": [32, 64, 128, 256, 320, 320], "kernel_sizes": [[3, 3, 3]] * 6,
       "strides": [[1, 1, 1]] + [[2, 2, 2]] * 5, "n_conv_per_stage": [2] * 6, "n_conv_per_stage_decoder": [2] * 5,
       "conv_bias": True, "norm": {"type": "InstanceNorm3d", "eps": 1e-5, "affine": True},
       "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}}
patch = [128, 128, 128]
if len(sys.argv) > 3:
    import json
    import h5py
    with h5py.File(sys.argv[3], "r") as f:
        config = json.loads(f.attrs["renal_mtl_config"])
    net, patch = config["network"], config["patch_size"]
model = SegUNet(net).eval()
x = torch.rand(1, net["input_channels"], *patch) * 2 - 1
with torch.no_grad():
    model(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - t) * 1000)
print(f"torch {torch.__version__} CPU {threads} threads {list(x.shape)}: median {statistics.median(times):.0f} ms over {runs} runs "
      f"(min {min(times):.0f}, max {max(times):.0f})")
