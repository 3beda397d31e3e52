#!/usr/bin/env python3
"""PyTorch goldens for every op of the engine's graph IR: the truth ReferenceOpsTest holds Reference to.

  /usr/bin/python3 make_op_goldens.py --out DIR [--seed N]

Maven runs it before the engine's tests (exec-maven-plugin, execution op-goldens). Writes
DIR/op_goldens.h5 (about 1.6 MB, written in under a second after the imports):

  @cases            JSON list, one entry per case:
                      {"name", "description",
                       "op": {"type": <Op record name>, <its components, by their Java names>},
                       "inputs": [dataset names, in the node's input order],
                       "constants": [dataset names; each is also the constant's name in the graph]}
                    The Java HDF5 reader reads root-group attributes only, hence one index here
                    instead of an attribute per group.
  @seed, @torch_version
  <case>/<input or constant>   float32, in its PyTorch shape
  <case>/expected_hi           float32, the op evaluated by PyTorch in float64 (the truth) ...
  <case>/expected_lo           float32, ... as hi + lo: hi = f32(y), lo = f32(y - hi), so that a reader
                               of float32 datasets recovers y to about 2^-48 relative
  <case>/torch_f32             float32, the same op evaluated by PyTorch in float32 (how far PyTorch
                               itself is from the truth)

Inputs and constants are drawn in float32 and widened exactly, so the float64 result is the exact
answer for the very values the Java test reads. Parameters the IR holds as float (eps, leaky ReLU
slope) are rounded to float32 before PyTorch sees them, for the same reason. Deterministic for a
given seed.
"""

import argparse
import json
import os
import tempfile
import time
import zlib

import h5py
import numpy as np
import torch
import torch.nn.functional as F

EPS = float(np.float32(1e-5))  # the IR's eps is a float: the truth uses exactly that value


def f32(v):
    """The float32 value nearest v, as a Python float (what the IR stores for eps and slopes)."""
    return float(np.float32(v))


def act(kind, slope=0.0):
    """An activation as the JSON names it: {"kind": Activation.Kind, "slope": float32 value}."""
    return {"kind": kind, "slope": f32(slope)}


def apply_act(a, y):
    """PyTorch's definition of the activation a (as built by act) on y."""
    return {
        "NONE": lambda t: t,
        "RELU": F.relu,
        "LEAKY_RELU": lambda t: F.leaky_relu(t, a["slope"]),
        "SIGMOID": torch.sigmoid,
        "TANH": torch.tanh,
    }[a["kind"]](y)


ACTS = [act("NONE"), act("RELU"), act("LEAKY_RELU", 0.01), act("LEAKY_RELU", 0.2), act("SIGMOID"), act("TANH")]


def act_name(a):
    return a["kind"].lower() + ("_%g" % np.float32(a["slope"]) if a["kind"] == "LEAKY_RELU" else "")


def dims(v):
    """A Dims3 as (d, h, w)."""
    return list(v) if isinstance(v, (list, tuple)) else [v, v, v]


def forward(op, t, c):
    """PyTorch's output of op on the input tensors t (node order) and constants c (by name)."""
    kind = op["type"]
    if kind == "Conv3d":
        y = F.conv3d(t[0], c[op["weight"]], c.get(op["bias"]), op["stride"], op["padding"], op["dilation"])
        if op["residual"]:
            y = y + t[1]
        return apply_act(op["activation"], y)
    if kind == "ConvTranspose3d":
        y = F.conv_transpose3d(t[0], c[op["weight"]], c.get(op["bias"]), op["stride"], op["padding"],
                               op["outputPadding"])
        return apply_act(op["activation"], y)
    if kind == "InstanceNorm3d":
        y = F.instance_norm(t[0], weight=c.get(op["scale"]), bias=c.get(op["bias"]), eps=op["eps"])
        return apply_act(op["activation"], y)
    if kind == "BatchNorm":
        y = F.batch_norm(t[0], c[op["mean"]], c[op["variance"]], c[op["scale"]], c[op["bias"]], training=False,
                         eps=op["eps"])
        return apply_act(op["activation"], y)
    if kind == "MaxPool3d":
        return F.max_pool3d(t[0], op["kernel"], op["stride"], op["padding"])
    if kind == "GlobalAvgPool":
        return F.adaptive_avg_pool3d(t[0], 1).flatten(1)
    if kind == "Concat":
        return torch.cat(t, dim=1)
    if kind == "Linear":
        return apply_act(op["activation"], F.linear(t[0], c[op["weight"]], c.get(op["bias"])))
    if kind == "GateMix":
        p = torch.softmax(t[0], dim=1)  # (N, E)
        return (p.unsqueeze(-1) * torch.stack(t[1:], dim=1)).sum(dim=1)  # (N, E, W) summed over E
    if kind == "Add":
        return apply_act(op["activation"], t[0] + t[1])
    if kind == "ShortcutA":
        # MedicalNet's downsample_basic_block: subsample, then zero channels up to the block's width
        y = F.avg_pool3d(t[0], kernel_size=1, stride=op["stride"])
        pad = torch.zeros((y.shape[0], op["channels"] - y.shape[1]) + tuple(y.shape[2:]), dtype=y.dtype)
        return torch.cat([y, pad], dim=1)
    if kind == "Slice":
        return t[0].narrow(op["axis"], op["start"], op["length"])
    if kind == "Reshape":
        return t[0].reshape(op["shape"])
    raise ValueError("unknown op " + kind)


class Cases:
    """Collects the cases, each with its seeded float32 arrays."""

    def __init__(self, seed):
        self.seed = seed
        self.cases = []

    def rng(self, name):
        return np.random.default_rng((self.seed * 1000003 + zlib.crc32(name.encode())) % (2 ** 32))

    def add(self, name, description, op, inputs, constants=()):
        """inputs and constants: lists of (dataset name, float32 array); constants keep their names in op."""
        self.cases.append({"name": name, "description": description, "op": op, "inputs": list(inputs),
                           "constants": list(constants)})


def normal(r, shape, scale=1.0, offset=0.0):
    return (r.standard_normal(shape) * scale + offset).astype(np.float32)


def conv_case(cs, name, desc, x_shape, cout, kernel, stride=1, padding=0, dilation=1, bias=True, residual=False,
              activation=None):
    r = cs.rng(name)
    k = dims(kernel)
    fan_in = x_shape[1] * k[0] * k[1] * k[2]
    x = normal(r, x_shape)
    w = normal(r, (cout, x_shape[1]) + tuple(k), fan_in ** -0.5)
    consts = [("weight", w)] + ([("bias", normal(r, (cout,), 0.5))] if bias else [])
    op = {"type": "Conv3d", "weight": "weight", "bias": "bias" if bias else None, "stride": dims(stride),
          "padding": dims(padding), "dilation": dims(dilation), "residual": residual,
          "activation": activation or act("NONE")}
    inputs = [("x", x)]
    if residual:
        y = forward(dict(op, residual=False), [torch.from_numpy(x)], {n: torch.from_numpy(a) for n, a in consts})
        inputs.append(("residual", normal(r, tuple(y.shape))))
    cs.add(name, desc, op, inputs, consts)


def conv_cases(cs):
    conv_case(cs, "conv_k3_p1_relu", "3^3 conv, padding 1, bias, ReLU; 5x7x9 volume, 3 -> 5 channels",
              (1, 3, 5, 7, 9), 5, 3, padding=1, activation=act("RELU"))
    conv_case(cs, "conv_nobias_b2", "3^3 conv without bias, no padding, batch 2, 5 -> 17 channels",
              (2, 5, 5, 7, 9), 17, 3, bias=False)
    conv_case(cs, "conv_stride122_asym", "kernel (3,5,3), stride (1,2,2), padding (1,2,0), tanh",
              (1, 3, 7, 9, 11), 5, (3, 5, 3), stride=(1, 2, 2), padding=(1, 2, 0), activation=act("TANH"))
    conv_case(cs, "conv_dil2", "3^3 conv, dilation 2, padding 2 (MedicalNet layer3), sigmoid, batch 2",
              (2, 3, 9, 9, 9), 5, 3, padding=2, dilation=2, activation=act("SIGMOID"))
    conv_case(cs, "conv_asym_all", "per-axis stride (2,1,3), padding (0,1,2), dilation (1,2,1), leaky 0.2",
              (1, 5, 9, 7, 11), 3, (2, 3, 3), stride=(2, 1, 3), padding=(0, 1, 2), dilation=(1, 2, 1),
              activation=act("LEAKY_RELU", 0.2))
    conv_case(cs, "conv_stem_k7_s2", "Hara stem: 7^3 conv stride 2 padding 3 without bias, ReLU, 1 channel",
              (1, 1, 9, 11, 13), 8, 7, stride=2, padding=3, bias=False, activation=act("RELU"))
    conv_case(cs, "conv_1x1_s2", "1^3 conv stride 2 (shortcut B), 17 -> 5 channels, batch 3",
              (3, 17, 5, 7, 9), 5, 1, stride=2)
    conv_case(cs, "conv_to_1x1x1", "3^3 conv of a 3x3x3 volume without padding: one output voxel",
              (2, 3, 3, 3, 3), 5, 3, activation=act("LEAKY_RELU", 0.01))
    for i, a in enumerate(ACTS):
        bias = i % 2 == 1  # alternate: with bias at batch 1, without at batch 2
        conv_case(cs, "conv_residual_" + act_name(a), "3^3 conv %s+ residual, then %s, batch %d"
                  % ("+ bias " if bias else "", act_name(a), 1 if bias else 2), (1 if bias else 2, 3, 5, 7, 9), 5, 3,
                  padding=1, bias=bias, residual=True, activation=a)


def conv_transpose_cases(cs):
    specs = [
        ("convt_k2_s2", "nnU-Net upsampling: kernel = stride = 2, bias, 17 -> 5 channels, batch 2",
         (2, 17, 3, 4, 5), 5, 2, 2, 0, 0, True, act("NONE")),
        ("convt_k122_s122", "anisotropic nnU-Net upsampling: kernel = stride = (1,2,2), leaky 0.01",
         (1, 5, 3, 4, 5), 3, (1, 2, 2), (1, 2, 2), 0, 0, True, act("LEAKY_RELU", 0.01)),
        ("convt_k3_s2_p1_op1", "kernel 3, stride 2, padding 1, output padding 1, no bias, ReLU",
         (1, 5, 3, 4, 5), 3, 3, 2, 1, 1, False, act("RELU")),
    ]
    for name, desc, x_shape, cout, k, s, p, op_, bias, a in specs:
        r = cs.rng(name)
        k = dims(k)
        consts = [("weight", normal(r, (x_shape[1], cout) + tuple(k), (x_shape[1] * k[0] * k[1] * k[2]) ** -0.5))]
        if bias:
            consts.append(("bias", normal(r, (cout,), 0.5)))
        cs.add(name, desc, {"type": "ConvTranspose3d", "weight": "weight", "bias": "bias" if bias else None,
                            "stride": dims(s), "padding": dims(p), "outputPadding": dims(op_), "activation": a},
               [("x", normal(r, x_shape))], consts)


def norm_cases(cs):
    r = cs.rng("instnorm_affine_leaky")
    cs.add("instnorm_affine_leaky", "InstanceNorm3d affine, leaky 0.01 (nnU-Net), batch 2, 5 channels, offset mean",
           {"type": "InstanceNorm3d", "scale": "scale", "bias": "bias", "eps": EPS,
            "activation": act("LEAKY_RELU", 0.01)},
           [("x", normal(r, (2, 5, 5, 7, 9), 3.0, 2.0))],
           [("scale", normal(r, (5,), 0.5, 1.0)), ("bias", normal(r, (5,), 0.5))])
    r = cs.rng("instnorm_plain")
    x = normal(r, (1, 3, 5, 7, 9), 2.0, -1.0)
    x[0, 1] = np.float32(0.75)  # a constant channel: variance 0, only eps keeps the division finite
    cs.add("instnorm_plain", "InstanceNorm3d without affine, no activation, one constant channel",
           {"type": "InstanceNorm3d", "scale": None, "bias": None, "eps": EPS, "activation": act("NONE")},
           [("x", x)])
    for name, desc, shape, a in [
            ("batchnorm_2d_relu", "BatchNorm1d eval on (3, 17), ReLU", (3, 17), act("RELU")),
            ("batchnorm_5d", "BatchNorm3d eval on (2, 5, 5, 7, 9), no activation", (2, 5, 5, 7, 9), act("NONE")),
            ("batchnorm_5d_tanh", "BatchNorm3d eval, batch 1, 3 channels, tanh", (1, 3, 5, 7, 9), act("TANH"))]:
        r = cs.rng(name)
        c = shape[1]
        cs.add(name, desc, {"type": "BatchNorm", "scale": "scale", "bias": "bias", "mean": "mean",
                            "variance": "variance", "eps": EPS, "activation": a},
               [("x", normal(r, shape, 2.0, 0.5))],
               [("scale", normal(r, (c,), 0.5, 1.0)), ("bias", normal(r, (c,), 0.5)), ("mean", normal(r, (c,))),
                ("variance", r.uniform(0.25, 4.0, c).astype(np.float32))])


def pool_cases(cs):
    for name, desc, shape, k, s, p, nan in [
            ("maxpool_k3_s2_p1", "MaxPool3d 3/2/1 (Hara stem), odd 5x7x9, batch 2", (2, 5, 5, 7, 9), 3, 2, 1, False),
            ("maxpool_negative", "MaxPool3d 3/2/1 of negative values only: a padded cell taken as 0 would win",
             (1, 3, 5, 7, 9), 3, 2, 1, False),
            ("maxpool_k2_s2_p0", "MaxPool3d 2/2/0, odd sizes (floor mode drops the last row)", (1, 3, 5, 7, 9), 2, 2,
             0, False),
            ("maxpool_k133_s122", "MaxPool3d kernel (1,3,3), stride (1,2,2), padding (0,1,1)", (1, 3, 5, 7, 9),
             (1, 3, 3), (1, 2, 2), (0, 1, 1), False),
            ("maxpool_nan", "MaxPool3d 3/2/1 with a NaN in the input: it must win its windows", (1, 3, 5, 7, 9), 3, 2,
             1, True)]:
        r = cs.rng(name)
        x = -np.abs(normal(r, shape)) - np.float32(0.5) if name == "maxpool_negative" else normal(r, shape)
        if nan:
            x[0, 1, 2, 3, 4] = np.nan
        cs.add(name, desc, {"type": "MaxPool3d", "kernel": dims(k), "stride": dims(s), "padding": dims(p)},
               [("x", x)])
    r = cs.rng("gap")
    cs.add("gap", "GlobalAvgPool over 5x7x9, 17 channels, batch 2", {"type": "GlobalAvgPool"},
           [("x", normal(r, (2, 17, 5, 7, 9), 1.0, 0.5))])
    r = cs.rng("gap_1x1x1")
    cs.add("gap_1x1x1", "GlobalAvgPool of a 1x1x1 volume (the mean is the value)", {"type": "GlobalAvgPool"},
           [("x", normal(r, (3, 5, 1, 1, 1)))])


def shape_cases(cs):
    r = cs.rng("concat2")
    cs.add("concat2", "Concat of 3 and 5 channels, batch 2", {"type": "Concat"},
           [("x0", normal(r, (2, 3, 5, 7, 9))), ("x1", normal(r, (2, 5, 5, 7, 9)))])
    r = cs.rng("concat3")
    cs.add("concat3", "Concat of 3, 5 and 17 channels", {"type": "Concat"},
           [("x0", normal(r, (1, 3, 5, 4, 3))), ("x1", normal(r, (1, 5, 5, 4, 3))), ("x2", normal(r, (1, 17, 5, 4, 3)))])
    r = cs.rng("concat_2d")
    cs.add("concat_2d", "Concat of (3, 5) and (3, 7) feature vectors", {"type": "Concat"},
           [("x0", normal(r, (3, 5))), ("x1", normal(r, (3, 7)))])
    r = cs.rng("shortcut_a_64_128")
    cs.add("shortcut_a_64_128", "type-A shortcut, stride 2, 64 -> 128 channels, odd 5x7x9",
           {"type": "ShortcutA", "stride": 2, "channels": 128}, [("x", normal(r, (1, 64, 5, 7, 9)))])
    r = cs.rng("shortcut_a_s1")
    cs.add("shortcut_a_s1", "type-A shortcut, stride 1, 5 -> 17 channels, batch 2",
           {"type": "ShortcutA", "stride": 1, "channels": 17}, [("x", normal(r, (2, 5, 3, 4, 5)))])
    r = cs.rng("slice_axis1")
    cs.add("slice_axis1", "Slice channels [3, 8) of 17 (a phase out of the stacked input), batch 2",
           {"type": "Slice", "axis": 1, "start": 3, "length": 5}, [("x", normal(r, (2, 17, 3, 4, 5)))])
    r = cs.rng("slice_axis0")
    cs.add("slice_axis0", "Slice sample 1 of a batch of 3", {"type": "Slice", "axis": 0, "start": 1, "length": 1},
           [("x", normal(r, (3, 5, 3, 4, 5)))])
    r = cs.rng("reshape")
    cs.add("reshape", "Reshape (3, 2, 5) volumes of features to (1, 30): phases side by side",
           {"type": "Reshape", "shape": [1, 30]}, [("x", normal(r, (3, 2, 5)))])


def head_cases(cs):
    for i, a in enumerate(ACTS):
        name = "linear_" + act_name(a)
        r = cs.rng(name)
        bias = i != 0
        consts = [("weight", normal(r, (5, 17), 17 ** -0.5))] + ([("bias", normal(r, (5,), 0.5))] if bias else [])
        cs.add(name, "Linear 17 -> 5, batch 3, " + act_name(a) + ("" if bias else ", no bias"),
               {"type": "Linear", "weight": "weight", "bias": "bias" if bias else None, "activation": a},
               [("x", normal(r, (3, 17)))], consts)
    for name, desc, n, e, w, scale in [
            ("gate_mix_e3", "GateMix of 3 experts of width 17, batch 2", 2, 3, 17, 1.0),
            ("gate_mix_e1", "GateMix of 1 expert (softmax of one logit is 1), batch 3", 3, 1, 5, 1.0),
            ("gate_mix_large", "GateMix with logits of about +-1000 (exp overflows, even in double, unless the "
             "largest logit is subtracted first)", 2, 3, 7, 1000.0)]:
        r = cs.rng(name)
        cs.add(name, desc, {"type": "GateMix"},
               [("logits", normal(r, (n, e), scale))] + [("expert%d" % k, normal(r, (n, w))) for k in range(e)])
    for name, desc, a, nan in [
            ("add_relu", "Add then ReLU (a ResNet block's end), 5x7x9, batch 2", act("RELU"), False),
            ("add_none", "Add without activation", act("NONE"), False),
            ("add_relu_nan", "Add then ReLU with a NaN: it must stay NaN (x86 max would give 0)", act("RELU"), True)]:
        r = cs.rng(name)
        x0 = normal(r, (2, 5, 5, 7, 9))
        if nan:
            x0[1, 2, 3, 4, 5] = np.nan
        cs.add(name, desc, {"type": "Add", "activation": a}, [("x0", x0), ("x1", normal(r, (2, 5, 5, 7, 9)))])


def evaluate(case, dtype):
    t = [torch.from_numpy(a).to(dtype) for _, a in case["inputs"]]
    c = {n: torch.from_numpy(a).to(dtype) for n, a in case["constants"]}
    with torch.no_grad():
        return forward(case["op"], t, c).numpy()


def write(path, cs):
    def writer(tmp):
        with h5py.File(tmp, "w") as f:
            index = []
            for case in cs.cases:
                g = f.create_group(case["name"])
                for n, a in case["inputs"] + case["constants"]:
                    g.create_dataset(n, data=a)
                y64 = evaluate(case, torch.float64)
                hi = y64.astype(np.float32)
                with np.errstate(invalid="ignore"):  # NaN - NaN in the NaN cases
                    lo = (y64 - hi.astype(np.float64)).astype(np.float32)
                g.create_dataset("expected_hi", data=hi)
                g.create_dataset("expected_lo", data=lo)
                g.create_dataset("torch_f32", data=evaluate(case, torch.float32))
                index.append({"name": case["name"], "description": case["description"], "op": case["op"],
                              "inputs": [n for n, _ in case["inputs"]],
                              "constants": [n for n, _ in case["constants"]]})
            f.attrs.create("cases", json.dumps(index), dtype=h5py.string_dtype("utf-8"))
            f.attrs["seed"] = np.int64(cs.seed)
            f.attrs.create("torch_version", torch.__version__, dtype=h5py.string_dtype("utf-8"))

    fd, tmp = tempfile.mkstemp(prefix=".op_goldens.", suffix=".tmp", dir=os.path.dirname(path))
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # a failed run leaves no partial file for the tests to read
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--seed", type=int, default=20260110)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # float32 sums in one fixed order: the torch_f32 arrays are reproducible
    start = time.time()
    cs = Cases(args.seed)
    for make in (conv_cases, conv_transpose_cases, norm_cases, pool_cases, shape_cases, head_cases):
        make(cs)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "op_goldens.h5")
    write(path, cs)
    print("op goldens: %d cases, %d bytes in %.1f s -> %s" % (len(cs.cases), os.path.getsize(path),
                                                              time.time() - start, path))


if __name__ == "__main__":
    main()
