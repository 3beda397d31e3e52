#!/usr/bin/env python3
"""TorchScript and ONNX copies of a renal-mtl HDF5 model, for the libtorch / ONNX Runtime benchmark.

  export_peers.py --model M.h5 --batch B --out DIR [--backbone-only [--network NAME]] [--opset 17]
                  [--size D H W] [--no-onnx]

Whole model (default): input ``x`` (B, P, D, H, W) -> output ``probabilities`` (B, T).
--backbone-only: one backbone as the engine runs it: fusion batch (B*P, 1, D, H, W), channels
(B, P, D, H, W), separate (B, 1, D, H, W) for phase 0 -> ``features`` (N, F).
D, H, W default to the config's input.size. Writes DIR/model.pt (torch.jit.trace), DIR/model.onnx
(torch.onnx.export, constant folding on, fixed shapes), DIR/reference.h5 (a seeded input and the
eager PyTorch output, for checking the peers) and DIR/peers.json (shapes, names, versions, the
largest difference traced-vs-eager).
"""

import argparse
import inspect
import json
import os
import sys

import h5py
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export  # noqa: E402


class Probabilities(nn.Module):
    """The whole model with one tensor output: (B, P, D, H, W) -> probabilities (B, T)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["probabilities"]


def peer_module(model, backbone_only, network, batch, size):
    """(module, example input shape, input name, output name, description)."""
    p = model.n_phases
    if not backbone_only:
        return Probabilities(model), (batch, p) + size, "x", "probabilities", "whole model"
    nets = {n["name"]: n for n in model.config["networks"]}
    name = network or model.config["networks"][0]["name"]
    if name not in nets:
        raise export.ExportError("--network %r: the model has networks %s" % (name, sorted(nets)))
    fusion = nets[name]["fusion"]
    bb = [m for n, i, m in model.backbone_modules() if n == name][0]
    shape = {"batch": (batch * p, 1), "channels": (batch, p), "separate": (batch, 1)}[fusion] + size
    return bb, shape, "x", "features", "backbone of network %r (fusion %s%s)" % (
        name, fusion, ", phase 0" if fusion == "separate" else "")


def export_peers(model_path, batch, out_dir, backbone_only=False, network=None, opset=17, size=None, onnx=True):
    """Write the peers; returns the peers.json dict."""
    model = export.load_h5(model_path)
    size = tuple(size or model.config["input"]["size"])
    module, shape, in_name, out_name, desc = peer_module(model, backbone_only, network, batch, size)
    module.eval()
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    with torch.no_grad():
        ref = module(x)
        traced = torch.jit.trace(module, x)
        diff = float((traced(x) - ref).abs().max())
    ts_path = os.path.join(out_dir, "model.pt")
    export._atomic_write(ts_path, lambda tmp: torch.jit.save(traced, tmp))
    info = {"source": os.path.abspath(model_path), "what": desc, "input_name": in_name,
            "input_shape": list(shape), "output_name": out_name, "output_shape": list(ref.shape),
            "torch_version": torch.__version__, "torchscript": "model.pt",
            "torchscript_max_abs_diff": diff}
    if onnx:
        onnx_path = os.path.join(out_dir, "model.onnx")
        extra = {}
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            extra["dynamo"] = False  # PyTorch >= 2.9 defaults to the dynamo exporter (needs onnxscript)
        export._atomic_write(onnx_path, lambda tmp: torch.onnx.export(
            module, (x,), tmp, input_names=[in_name], output_names=[out_name], opset_version=opset,
            do_constant_folding=True, **extra))
        info["onnx"] = "model.onnx"
        info["onnx_opset"] = opset

    def writer(tmp):
        with h5py.File(tmp, "w") as f:
            f.create_dataset("input", data=x.numpy().astype(np.float32))
            f.create_dataset(out_name, data=ref.numpy().astype(np.float32))

    export._atomic_write(os.path.join(out_dir, "reference.h5"), writer)
    info["reference"] = "reference.h5"
    export.write_text(os.path.join(out_dir, "peers.json"), json.dumps(info, indent=1) + "\n")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(prog="export_peers.py", description=__doc__.split("\n")[1])
    ap.add_argument("--model", required=True, help="renal-mtl HDF5 model")
    ap.add_argument("--batch", type=int, default=1, help="cases per forward (B)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--backbone-only", action="store_true", help="export one backbone instead of the whole model")
    ap.add_argument("--network", help="network whose backbone --backbone-only exports (default: the first)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--size", type=int, nargs=3, metavar=("D", "H", "W"), help="input size (default: config)")
    ap.add_argument("--no-onnx", action="store_true", help="TorchScript only")
    args = ap.parse_args(argv)
    if args.batch < 1:
        print("export_peers.py: error: --batch must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    try:
        info = export_peers(args.model, args.batch, args.out, args.backbone_only, args.network, args.opset,
                            args.size, not args.no_onnx)
    except export.ExportError as e:
        print("export_peers.py: error: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
