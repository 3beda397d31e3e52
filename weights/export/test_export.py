"""Tests of the Python side of the weight format. Run: /usr/bin/python3 -m unittest discover -s weights/export

Foreign checkpoints (DeepCTR-Torch PLE, easezyc PLE, MedicalNet/MONAI ResNets) are built synthetically with
their original key layouts (ENGINEERING.md §1), and each is checked against a forward written here from the
original layout, independent of renal_mtl's modules.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
import export_peers  # noqa: E402
import make_fixtures  # noqa: E402
from renal_mtl import config as C  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402

# Same float32 operations in a different order (bmm vs matmul, pooling vs slicing, library conv vs the
# same library conv on other strides): differences are rounding only, ~1e-6 on O(1) values.
ATOL = 2e-5
RTOL = 2e-5


def _gen(seed):
    return torch.Generator().manual_seed(seed)


class Synth:
    """Random tensors with foreign key names; He-scaled so activations stay O(1) through the layers."""

    def __init__(self, seed):
        self.g = _gen(seed)
        self.sd = {}

    def lin(self, key, out, inp, bias=True):
        self.sd[key + ".weight"] = torch.randn(out, inp, generator=self.g) * math.sqrt(2.0 / inp)
        if bias:
            self.sd[key + ".bias"] = 0.1 * torch.randn(out, generator=self.g)

    def conv(self, key, out, inp, k, bias=False):
        self.sd[key + ".weight"] = torch.randn(out, inp, k, k, k, generator=self.g) * math.sqrt(2.0 / (inp * k ** 3))
        if bias:
            self.sd[key + ".bias"] = 0.1 * torch.randn(out, generator=self.g)

    def bn(self, key, n):
        self.sd[key + ".weight"] = 0.5 + torch.rand(n, generator=self.g)
        self.sd[key + ".bias"] = 0.1 * torch.randn(n, generator=self.g)
        self.sd[key + ".running_mean"] = 0.1 * torch.randn(n, generator=self.g)
        self.sd[key + ".running_var"] = 0.5 + torch.rand(n, generator=self.g)
        self.sd[key + ".num_batches_tracked"] = torch.tensor(17)

    def resnet10(self, p, widths, in_ch, shortcut, ds_bias, extra_head):
        """MedicalNet/MONAI-style ResNet-10 keys under prefix p (BasicBlock, one block per stage)."""
        self.conv(p + "conv1", widths[0], in_ch, 7)
        self.bn(p + "bn1", widths[0])
        cin = widths[0]
        for s, w in enumerate(widths):
            q = "%slayer%d.0." % (p, s + 1)
            self.conv(q + "conv1", w, cin, 3)
            self.bn(q + "bn1", w)
            self.conv(q + "conv2", w, w, 3)
            self.bn(q + "bn2", w)
            if shortcut == "B" and (s > 0 or cin != w):
                self.conv(q + "downsample.0", w, cin, 1, bias=ds_bias)
                self.bn(q + "downsample.1", w)
            cin = w
        if extra_head == "fc":
            self.lin(p + "fc", 2, widths[-1])
        elif extra_head == "conv_seg":
            self.conv(p + "conv_seg.0", 4, widths[-1], 3)
            self.bn(p + "conv_seg.1", 4)


def ref_bn(sd, key, x):
    return F.batch_norm(x, sd[key + ".running_mean"], sd[key + ".running_var"], sd[key + ".weight"],
                        sd[key + ".bias"], False, 0.0, 1e-5)


def ref_resnet(sd, p, x, stem_stride, strides, dilations, max_pool):
    """Independent ResNet (BasicBlock) forward from the original key layout; x (N, C, D, H, W) -> (N, F)."""
    x = F.relu(ref_bn(sd, p + "bn1", F.conv3d(x, sd[p + "conv1.weight"], stride=stem_stride, padding=3)))
    if max_pool:
        x = F.max_pool3d(x, 3, 2, 1)
    for s in range(4):
        b = 0
        while "%slayer%d.%d.conv1.weight" % (p, s + 1, b) in sd:
            q = "%slayer%d.%d." % (p, s + 1, b)
            st, d = (strides[s] if b == 0 else 1), dilations[s]
            out = F.relu(ref_bn(sd, q + "bn1", F.conv3d(x, sd[q + "conv1.weight"], stride=st, padding=d, dilation=d)))
            out = ref_bn(sd, q + "bn2", F.conv3d(out, sd[q + "conv2.weight"], padding=d, dilation=d))
            if q + "downsample.0.weight" in sd:
                idn = ref_bn(sd, q + "downsample.1",
                             F.conv3d(x, sd[q + "downsample.0.weight"], sd.get(q + "downsample.0.bias"), stride=st))
            else:
                idn = x[:, :, ::st, ::st, ::st]  # shortcut A: strided pick, then zero channels
                if idn.shape[1] < out.shape[1]:
                    z = torch.zeros((idn.shape[0], out.shape[1] - idn.shape[1]) + tuple(idn.shape[2:]))
                    idn = torch.cat([idn, z], dim=1)
            x = F.relu(out + idn)
            b += 1
    return x.mean(dim=(2, 3, 4))


def ref_dnn(sd, p, x, bn_key="bn"):
    """DeepCTR DNN: Linear [-> BN] -> ReLU per layer."""
    i = 0
    while "%slinears.%d.weight" % (p, i) in sd:
        x = F.linear(x, sd["%slinears.%d.weight" % (p, i)], sd["%slinears.%d.bias" % (p, i)])
        if "%s%s.%d.weight" % (p, bn_key, i) in sd:
            x = ref_bn(sd, "%s%s.%d" % (p, bn_key, i), x)
        x = F.relu(x)
        i += 1
    return x


def ref_deepctr(sd, x, levels, n_tasks, m, s):
    """DeepCTR-Torch PLE.forward (cgc_net per level), from its key layout; x (B, F) -> logits (B, T)."""
    inputs = [x] * (n_tasks + 1)
    outs = None
    for lv in range(levels):
        spec = [ref_dnn(sd, "specific_experts.%d.%d.%d." % (lv, t, e), inputs[t])
                for t in range(n_tasks) for e in range(m)]
        shared = [ref_dnn(sd, "shared_experts.%d.%d." % (lv, k), inputs[-1]) for k in range(s)]
        outs = []
        for t in range(n_tasks):
            cur = torch.stack(spec[t * m:(t + 1) * m] + shared, 1)
            g = ref_dnn(sd, "specific_gate_dnn.%d.%d." % (lv, t), inputs[t])
            g = F.linear(g, sd["specific_gate_dnn_final_layer.%d.%d.weight" % (lv, t)])
            outs.append(torch.matmul(g.softmax(1).unsqueeze(1), cur).squeeze(1))
        if lv < levels - 1:
            cur = torch.stack(spec + shared, 1)
            g = ref_dnn(sd, "shared_gate_dnn.%d." % lv, inputs[-1])
            g = F.linear(g, sd["shared_gate_dnn_final_layer.%d.weight" % lv])
            outs.append(torch.matmul(g.softmax(1).unsqueeze(1), cur).squeeze(1))
            inputs = outs
    logits = []
    for t in range(n_tasks):
        h = ref_dnn(sd, "tower_dnn.%d." % t, outs[t])
        logits.append(F.linear(h, sd["tower_dnn_final_layer.%d.weight" % t]) + sd["out.%d.bias" % t])
    return torch.cat(logits, dim=1)


def synth_deepctr(sy, p, in_dim, levels, n_tasks, m, s, expert, gate, tower, use_bn):
    def dnn(key, inp, widths):
        for i, w in enumerate(widths):
            sy.lin("%s.linears.%d" % (key, i), w, inp)
            if use_bn:
                sy.bn("%s.bn.%d" % (key, i), w)
            inp = w
        return inp

    for lv in range(levels):
        inp = in_dim if lv == 0 else expert[-1]
        for t in range(n_tasks):
            for e in range(m):
                dnn("%sspecific_experts.%d.%d.%d" % (p, lv, t, e), inp, expert)
            g = dnn("%sspecific_gate_dnn.%d.%d" % (p, lv, t), inp, gate)
            sy.lin("%sspecific_gate_dnn_final_layer.%d.%d" % (p, lv, t), m + s, g, bias=False)
        for e in range(s):
            dnn("%sshared_experts.%d.%d" % (p, lv, e), inp, expert)
        # built for every level, the last one included, as DeepCTR does
        g = dnn("%sshared_gate_dnn.%d" % (p, lv), inp, gate)
        sy.lin("%sshared_gate_dnn_final_layer.%d" % (p, lv), n_tasks * m + s, g, bias=False)
    for t in range(n_tasks):
        h = dnn("%stower_dnn.%d" % (p, t), expert[-1], tower)
        sy.lin("%stower_dnn_final_layer.%d" % (p, t), 1, h, bias=False)
        sy.sd["%sout.%d.bias" % (p, t)] = 0.3 * torch.randn(1, generator=sy.g)


def ref_mlp(sd, p, x):
    """easezyc MultiLayerPerceptron in eval mode: (Linear, BN, ReLU, Dropout)* [+ Linear]."""
    k = 0
    while "%smlp.%d.weight" % (p, k) in sd:
        x = F.linear(x, sd["%smlp.%d.weight" % (p, k)], sd["%smlp.%d.bias" % (p, k)])
        if "%smlp.%d.running_mean" % (p, k + 1) in sd:
            x = F.relu(ref_bn(sd, "%smlp.%d" % (p, k + 1), x))
            k += 4
        else:
            break
    return x


def synth_mlp(sy, key, inp, widths, output):
    k = 0
    for w in widths:
        sy.lin("%s.mlp.%d" % (key, k), w, inp)
        sy.bn("%s.mlp.%d" % (key, k + 1), w)
        inp, k = w, k + 4
    if output:
        sy.lin("%s.mlp.%d" % (key, k), 1, inp)


def synth_easezyc(sy, p, in_dim, dims, n_tasks, m, s, tower):
    for lv, w in enumerate(dims):
        inp = in_dim if lv == 0 else dims[lv - 1]
        for t in range(n_tasks):
            for e in range(m):
                synth_mlp(sy, "%stask_experts.%d.%d.%d" % (p, lv, t, e), inp, [w], False)
            sy.lin("%stask_gates.%d.%d.0" % (p, lv, t), m + s, inp)
        for e in range(s):
            synth_mlp(sy, "%sshare_experts.%d.%d" % (p, lv, e), inp, [w], False)
        sy.lin("%sshare_gates.%d.0" % (p, lv), n_tasks * m + s, inp)
    for t in range(n_tasks):
        synth_mlp(sy, "%stower.%d" % (p, t), dims[-1], tower, True)


def ref_easezyc(sd, x, levels, n_tasks, m, s):
    """easezyc PLE forward (task_experts/share_experts layout; shared experts read the shared input)."""
    fea = [x] * (n_tasks + 1)
    for lv in range(levels):
        share = [ref_mlp(sd, "share_experts.%d.%d." % (lv, e), fea[-1]).unsqueeze(1) for e in range(s)]
        all_task = []
        new = list(fea)
        for t in range(n_tasks):
            own = [ref_mlp(sd, "task_experts.%d.%d.%d." % (lv, t, e), fea[t]).unsqueeze(1) for e in range(m)]
            all_task.extend(own)
            g = torch.softmax(F.linear(fea[t], sd["task_gates.%d.%d.0.weight" % (lv, t)],
                                       sd["task_gates.%d.%d.0.bias" % (lv, t)]), dim=1).unsqueeze(1)
            new[t] = torch.bmm(g, torch.cat(own + share, dim=1)).squeeze(1)
        if lv != levels - 1:
            g = torch.softmax(F.linear(fea[-1], sd["share_gates.%d.0.weight" % lv], sd["share_gates.%d.0.bias" % lv]),
                              dim=1).unsqueeze(1)
            new[-1] = torch.bmm(g, torch.cat(all_task + share, dim=1)).squeeze(1)
        fea = new
    return torch.cat([ref_mlp(sd, "tower.%d." % t, fea[t]) for t in range(n_tasks)], dim=1)


def synth_easezyc_flat(sy, p, in_dim, width, n_tasks, m, s, tower):
    """Newer easezyc layout, one level: expert.0.{i} (task-major, then shared), gate.0.{j} (tasks, shared)."""
    for i in range(n_tasks * m + s):
        synth_mlp(sy, "%sexpert.0.%d" % (p, i), in_dim, [width], False)
    for j in range(n_tasks):
        sy.lin("%sgate.0.%d.0" % (p, j), m + s, in_dim)
    sy.lin("%sgate.0.%d.0" % (p, n_tasks), n_tasks * m + s, in_dim)
    for t in range(n_tasks):
        synth_mlp(sy, "%stower.%d" % (p, t), width, tower, True)


def ref_easezyc_flat(sd, x, n_tasks, m, s):
    outs = []
    for t in range(n_tasks):
        idx = list(range(t * m, (t + 1) * m)) + list(range(n_tasks * m, n_tasks * m + s))
        fea = torch.cat([ref_mlp(sd, "expert.0.%d." % i, x).unsqueeze(1) for i in idx], dim=1)
        g = torch.softmax(F.linear(x, sd["gate.0.%d.0.weight" % t], sd["gate.0.%d.0.bias" % t]), 1).unsqueeze(1)
        outs.append(torch.bmm(g, fea).squeeze(1))
    return torch.cat([ref_mlp(sd, "tower.%d." % t, outs[t]) for t in range(n_tasks)], dim=1)


class TmpDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="renal_mtl_test_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def export_and_load(self, ckpt, cfg, **kw):
        """torch.save ckpt, export with a config JSON, load the HDF5 back; returns (model, notes)."""
        ck, cj, out = self.path("ckpt.pth"), self.path("config.json"), self.path("model.h5")
        torch.save(ckpt, ck)
        with open(cj, "w") as f:
            json.dump(cfg, f)
        notes = export.export_checkpoint(ck, cj, out, **kw)
        return export.load_h5(out), notes


def small_config(backbone, head, fusion="batch", phases=C.PHASES_3, size=(16, 16, 16)):
    net = {"name": "mtdl", "prefix": "", "tasks": ["ccrcc", "stage", "renal"], "fusion": fusion,
           "backbone": backbone, "head": head}
    return C.model_config("test", [net], phases=phases, size=size)


MEDNET_R10 = dict(depth=10, flavour="medicalnet", widths=(4, 8, 8, 16), strides=(1, 2, 1, 1),
                  dilations=(1, 1, 2, 4), shortcut="A")


class MappingTest(TmpDir):

    def test_deepctr_with_medicalnet_backbone(self):
        sy = Synth(1)
        sy.resnet10("module.backbone.", (4, 8, 8, 16), 1, "A", False, "conv_seg")
        # DeepCTR counts differ (2 task experts, 1 shared): the exporter reads them from the shapes
        synth_deepctr(sy, "module.ple.", 3 * 16, 2, 3, 2, 1, expert=[12, 10], gate=[6], tower=[5], use_bn=False)
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())  # head is a placeholder
        model, notes = self.export_and_load({"state_dict": sy.sd, "epoch": 3}, cfg)
        head = model.config["networks"][0]["head"]
        self.assertEqual((head["levels"], head["task_experts"], head["shared_experts"]), (2, 2, 1))
        self.assertEqual(head["gate"], {"hidden": [6], "bias": False, "bn": False})
        self.assertTrue(any("shared_gate_dnn_final_layer.1.weight" in n for n in notes), notes)
        sd = {k[len("module."):]: v for k, v in sy.sd.items()}
        x = torch.randn(2, 3, 16, 16, 16, generator=_gen(5))
        with torch.no_grad():
            got = model(x)
            feats = ref_resnet(sd, "backbone.", x.reshape(6, 1, 16, 16, 16), 2, (1, 2, 1, 1), (1, 1, 2, 4), True)
            feats = feats.reshape(2, 3 * 16)
            ple = {k[len("ple."):]: v for k, v in sd.items() if k.startswith("ple.")}
            want = ref_deepctr(ple, feats, 2, 3, 2, 1)
        self.assertTrue(torch.allclose(got["features"]["mtdl"], feats, atol=ATOL, rtol=RTOL))
        self.assertTrue(torch.allclose(got["logits"], want, atol=ATOL, rtol=RTOL),
                        (got["logits"] - want).abs().max())
        self.assertGreater(float(want.std()), 0.05)  # the comparison is not between constants

    def test_deepctr_bn_no_gate_hidden_monai_backbone(self):
        sy = Synth(2)
        sy.resnet10("", (4, 8, 8, 16), 3, "B", True, "fc")  # MONAI: downsample bias, fc; phases as channels
        synth_deepctr(sy, "", 16, 3, 3, 1, 2, expert=[8], gate=[], tower=[6], use_bn=True)
        bb = C.resnet_backbone(depth=10, flavour="monai", in_channels=3, widths=(4, 8, 8, 16), stem_stride=(1, 1, 1),
                               shortcut="B", downsample_bias=False)  # the checkpoint's bias switches it on
        cfg = small_config(bb, C.ple_head(), fusion="channels", size=(12, 12, 12))
        model, _ = self.export_and_load({k if i % 2 else "module." + k: v for i, (k, v) in enumerate(sy.sd.items())},
                                        cfg)
        self.assertTrue(model.config["networks"][0]["backbone"]["downsample_bias"])
        head = model.config["networks"][0]["head"]
        self.assertTrue(head["expert_bn"] and head["tower"]["bn"] and head["tower"]["bias"])
        x = torch.randn(3, 3, 12, 12, 12, generator=_gen(6))
        with torch.no_grad():
            feats = ref_resnet(sy.sd, "", x, 1, (1, 2, 2, 2), (1, 1, 1, 1), True)
            want = ref_deepctr(sy.sd, feats, 3, 3, 1, 2)
            got = model(x)["logits"]
        self.assertTrue(torch.allclose(got, want, atol=ATOL, rtol=RTOL), (got - want).abs().max())

    def test_easezyc(self):
        sy = Synth(3)
        sy.resnet10("net.encoder.", (4, 8, 8, 16), 1, "A", False, "fc")
        synth_easezyc(sy, "net.mtl.", 3 * 16, [12, 12], 3, 2, 2, tower=[7])
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())
        model, _ = self.export_and_load(sy.sd, cfg)
        head = model.config["networks"][0]["head"]
        self.assertEqual(head["expert_hidden"], [12])
        self.assertTrue(head["expert_bn"] and head["gate"]["bias"] and head["tower"]["bn"])
        sd = {k[len("net.mtl."):]: v for k, v in sy.sd.items() if k.startswith("net.mtl.")}
        x = torch.randn(3, 3, 16, 16, 16, generator=_gen(7))
        with torch.no_grad():
            feats = ref_resnet(sy.sd, "net.encoder.", x.reshape(9, 1, 16, 16, 16), 2, (1, 2, 1, 1), (1, 1, 2, 4), True)
            want = ref_easezyc(sd, feats.reshape(3, 48), 2, 3, 2, 2)
            got = model(x)["logits"]
        self.assertTrue(torch.allclose(got, want, atol=ATOL, rtol=RTOL), (got - want).abs().max())

    def test_easezyc_flat_one_level(self):
        sy = Synth(4)
        sy.resnet10("backbone.", (4, 8, 8, 16), 1, "A", False, "conv_seg")
        synth_easezyc_flat(sy, "head.", 48, 10, 3, 1, 2, tower=[6, 4])
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())
        model, _ = self.export_and_load({"state_dict": sy.sd}, cfg)
        head = model.config["networks"][0]["head"]
        self.assertEqual((head["levels"], head["task_experts"], head["shared_experts"]), (1, 1, 2))
        sd = {k[len("head."):]: v for k, v in sy.sd.items() if k.startswith("head.")}
        x = torch.randn(2, 3, 16, 16, 16, generator=_gen(8))
        with torch.no_grad():
            feats = ref_resnet(sy.sd, "backbone.", x.reshape(6, 1, 16, 16, 16), 2, (1, 2, 1, 1), (1, 1, 2, 4), True)
            want = ref_easezyc_flat(sd, feats.reshape(2, 48), 3, 1, 2)
            got = model(x)["logits"]
        self.assertTrue(torch.allclose(got, want, atol=ATOL, rtol=RTOL), (got - want).abs().max())

    def test_all_problems_reported_at_once(self):
        sy = Synth(5)
        sy.resnet10("backbone.", (4, 8, 8, 16), 1, "A", False, None)
        synth_easezyc(sy, "head.", 48, [12, 10], 3, 1, 1, tower=[4])  # per-level widths: not representable
        sy.sd["backbone.layer2.0.conv1.weight"] = torch.zeros(8, 4, 3, 3, 2)  # misshaped
        sy.sd["optimizer_step"] = torch.zeros(1)  # unmapped
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())
        state = export.normalise_state(sy.sd, "x.pth")
        with self.assertRaises(export.ExportError) as cm:
            export.map_checkpoint(state, cfg, where="x.pth")
        msg = str(cm.exception)
        for part in ("x.pth", "per-level widths", "optimizer_step", "backbone.layer2.0.conv1.weight (8, 4, 3, 3, 2)"):
            self.assertIn(part, msg)
        self.assertNotIn("\n", msg)
        # --drop silences the unmapped key only
        with self.assertRaises(export.ExportError) as cm:
            export.map_checkpoint(state, cfg, drop=["^optimizer_"])
        self.assertNotIn("optimizer_step", str(cm.exception))

    def test_deepctr_gate_bn_is_refused(self):
        sy = Synth(6)
        sy.resnet10("backbone.", (4, 8, 8, 16), 1, "A", False, None)
        synth_deepctr(sy, "head.", 48, 1, 3, 1, 1, expert=[8], gate=[4], tower=[], use_bn=True)
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())
        with self.assertRaises(export.ExportError) as cm:
            export.map_checkpoint(export.normalise_state(sy.sd, "c"), cfg)
        self.assertIn("head.specific_gate_dnn.0.0.bn.0", str(cm.exception))

    def test_stdl_three_networks_with_prefix_options(self):
        cfg = C.r18_3p_96_stdl()
        for n in cfg["networks"]:
            n["backbone"]["widths"] = [4, 8, 8, 8]
            n["backbone"]["depth"] = 10
            n["head"]["hidden"] = [6]
        torch.manual_seed(0)
        src = RenalModel(cfg).eval()
        renamed = {}
        for k, v in src.state_dict().items():  # a training script's own names: nets.{i}.encoder / .classifier
            i = ["ccrcc.", "stage.", "renal."].index(k[:6])
            renamed["nets.%d.%s" % (i, k[6:].replace("backbone.", "encoder.").replace("head.", "classifier."))] = v
        state = export.normalise_state(renamed, "c")
        with self.assertRaises(export.ExportError):
            export.map_checkpoint(state, cfg)  # ambiguous without prefixes
        bbp = {t: ["nets.%d.encoder." % i] for i, t in enumerate(["ccrcc", "stage", "renal"])}
        hp = {t: "nets.%d.classifier." % i for i, t in enumerate(["ccrcc", "stage", "renal"])}
        cfg2, tensors, _ = export.map_checkpoint(state, cfg, bbp, hp)
        model = export.build_model(cfg2, {k: v.numpy() for k, v in tensors.items()}, "mapped")
        x = torch.randn(2, 3, 16, 16, 16, generator=_gen(9))
        with torch.no_grad():
            self.assertTrue(torch.equal(model(x)["logits"], src(x)["logits"]))


class FormatTest(TmpDir):

    def test_named_configs(self):
        m = RenalModel(C.r18_3p_96_mtdl())
        keys = set(export.model_tensors(m))
        self.assertIn("backbone.conv1.weight", keys)
        self.assertIn("backbone.layer2.0.downsample.0.weight", keys)
        self.assertNotIn("backbone.layer2.0.downsample.0.bias", keys)
        self.assertIn("head.levels.0.shared_gate.out.bias", keys)
        self.assertNotIn("head.levels.1.shared_gate.out.weight", keys)  # no shared gate at the last level
        self.assertIn("head.towers.2.hidden.0.weight", keys)
        self.assertEqual(tuple(m.state_dict()["head.levels.0.task_experts.0.0.layers.0.weight"].shape), (256, 1536))
        # ENGINEERING.md §1: R18-3P-96 backbone has 33.16 M parameters
        n = sum(p.numel() for k, p in m.named_parameters() if k.startswith("backbone."))
        self.assertEqual(round(n / 1e6, 2), 33.16)
        s = RenalModel(C.r18_3p_96_stdl())
        self.assertIn("stage.head.hidden.1.weight", export.model_tensors(s))
        self.assertEqual(tuple(s.state_dict()["renal.head.out.weight"].shape), (1, 64))

    def test_roundtrip_and_layout(self):
        cfg = make_fixtures.cases()[1][2]  # small R18, batch fusion, PLE
        torch.manual_seed(3)
        m = RenalModel(cfg).eval()
        path = self.path("m.h5")
        export.save_h5(m, path)
        with h5py.File(path, "r") as f:
            tid = f.attrs.get_id(export.CONFIG_ATTR).get_type()
            self.assertTrue(tid.is_variable_str())
            self.assertEqual(tid.get_cset(), h5py.h5t.CSET_UTF8)
            self.assertEqual(json.loads(f.attrs[export.CONFIG_ATTR])["format"], "renal-mtl-weights")
            self.assertEqual(set(f.keys()), set(export.model_tensors(m)))
            for name in f:
                d = f[name]
                self.assertIsNone(d.chunks)
                self.assertIsNone(d.compression)
                self.assertEqual(d.dtype, np.float32)
                self.assertEqual(d.id.get_create_plist().get_layout(), h5py.h5d.CONTIGUOUS)
        back = export.load_h5(path)
        x = torch.randn(1, 3, 24, 24, 24, generator=_gen(1))
        with torch.no_grad():
            self.assertTrue(torch.equal(back(x)["logits"], m(x)["logits"]))
        export.save_h5(m, path, fp16=True)
        half = export.load_h5(path)
        w = "backbone.layer1.0.conv1.weight"
        self.assertTrue(torch.equal(half.state_dict()[w], m.state_dict()[w].half().float()))
        with h5py.File(path, "r") as f:
            self.assertEqual(f[w].dtype, np.float16)

    def test_load_rejects_bad_files(self):
        torch.manual_seed(4)
        m = RenalModel(make_fixtures.cases()[3][2])
        path = self.path("bad.h5")
        export.save_h5(m, path)
        with h5py.File(path, "a") as f:
            del f["head.towers.0.out.bias"]
            f.create_dataset("extra.weight", data=np.zeros(3, np.float32))
            data = f["backbone.bn1.weight"][()]
            data[0] = np.nan
            f["backbone.bn1.weight"][...] = data
        with self.assertRaises(export.ExportError) as cm:
            export.load_h5(path)
        msg = str(cm.exception)
        for part in ("missing: head.towers.0.out.bias", "unexpected: extra.weight", "non-finite: backbone.bn1.weight"):
            self.assertIn(part, msg)

    def test_cli_errors_leave_no_file(self):
        out = self.path("never.h5")
        cj = self.path("c.json")
        with open(cj, "w") as f:
            json.dump(C.r18_3p_96_mtdl(), f)
        r = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", self.path("nope.pth"),
                            "--config", cj, "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.pth: no such file", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        torch.save({"state_dict": {"conv1.weight": torch.zeros(1)}}, self.path("tiny.pth"))
        r = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", self.path("tiny.pth"),
                            "--config", cj, "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(out))
        self.assertEqual([n for n in os.listdir(self.tmp) if n.endswith(".tmp")], [])

    def test_validate_reports_every_problem(self):
        cfg = C.r18_3p_96_mtdl()
        cfg["format_version"] = 3
        cfg["networks"][0]["backbone"]["depth"] = 20
        cfg["networks"][0]["tasks"] = ["ccrcc", "stage"]
        with self.assertRaises(C.ConfigError) as cm:
            C.validate(cfg)
        msg = str(cm.exception)
        for part in ("format_version 3", "depth must be one of", "task 'renal' must be predicted"):
            self.assertIn(part, msg)


class FixturesAndPeersTest(TmpDir):

    def test_fixtures_reproduce(self):
        names = ["r10_a_ple1", "stdl_mixed", "fp16_r18"]
        self.assertEqual(make_fixtures.main(["--out", self.tmp, "--only"] + names), 0)
        with open(self.path("manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual([c["case"] for c in manifest["cases"]], names)
        for c in manifest["cases"]:
            model = export.load_h5(self.path(c["model"]))
            with h5py.File(self.path(c["io"]), "r") as io:
                x = torch.from_numpy(io["input"][()])
                self.assertEqual(io.attrs["case"], c["case"])
                with torch.no_grad():
                    r = model(x)
                # exact: same weights (fp16 fixtures are computed with the rounded weights), same ops
                np.testing.assert_array_equal(r["logits"].numpy(), io["logits"][()])
                np.testing.assert_array_equal(r["probabilities"].numpy(), io["probabilities"][()])
                for name in c["networks"]:
                    np.testing.assert_array_equal(r["features"][name].numpy(), io["features"][name][()])
                lo, hi = float(io["logits"][()].min()), float(io["logits"][()].max())
                self.assertTrue(-3.0 <= lo and hi <= 3.0, (lo, hi))
                # conditioning keeps activations O(1): a blown-up BN would give features in the hundreds
                for name in c["networks"]:
                    self.assertLess(float(np.abs(io["features"][name][()]).max()), 50.0)
                # per-layer goldens: one per node, in run order; the last ones are the outputs above
                with h5py.File(self.path(c["layers"]), "r") as lf:
                    order = json.loads(lf.attrs["order"])
                    self.assertEqual(sorted(order), sorted(lf.keys()))
                    golden = [lf[k][()] for k in order]
                for v in golden:
                    self.assertEqual(v.dtype, np.float32)
                    self.assertTrue(np.isfinite(v).all())
                for name in c["networks"]:
                    f64 = io["features_f64"][name][()]
                    self.assertTrue(any(v.shape == f64.shape and np.allclose(v, f64, rtol=1e-6, atol=0)
                                        for v in golden), name)
                p64 = io["probabilities_f64"][()]
                for t in range(p64.shape[1]):
                    self.assertTrue(any(v.shape == (p64.shape[0], 1) and np.allclose(v[:, 0], p64[:, t], rtol=1e-6,
                                                                                     atol=0)
                                        for v in golden), t)
        # deterministic for a seed
        again = self.path("again")
        make_fixtures.main(["--out", again, "--only", "r10_a_ple1"])
        with h5py.File(self.path("r10_a_ple1.io.h5"), "r") as a, h5py.File(os.path.join(again, "r10_a_ple1.io.h5"),
                                                                              "r") as b:
            np.testing.assert_array_equal(a["logits"][()], b["logits"][()])

    def test_case_matrix(self):
        cases = make_fixtures.cases()
        self.assertGreaterEqual(len(cases), 20)
        nets = [n for _, _, cfg, _, _, _ in cases for n in cfg["networks"]]
        bbs = [n["backbone"] for n in nets]
        self.assertEqual({b["depth"] for b in bbs}, {10, 18, 34, 50})
        self.assertEqual({b["shortcut"] for b in bbs}, {"A", "B"})
        self.assertEqual({n["fusion"] for n in nets}, {"batch", "channels", "separate"})
        self.assertEqual({n["head"].get("levels") for n in nets} - {None}, {1, 2, 3})
        self.assertEqual({c[3] for c in cases}, {1, 3})
        self.assertTrue(any(c[5] for c in cases))
        self.assertTrue(any(b["widths"] == [64, 128, 256, 512] for b in bbs))
        self.assertTrue(any(b["dilations"] == [1, 1, 2, 4] for b in bbs))
        self.assertTrue(any(not b["stem"]["max_pool"] for b in bbs))
        self.assertTrue(any(b["stem"]["stride"] == [1, 1, 1] and b["downsample_bias"] for b in bbs))

    def test_peers(self):
        torch.manual_seed(5)
        cfg = make_fixtures.cases()[3][2]
        m = RenalModel(cfg).eval()
        path = self.path("m.h5")
        export.save_h5(m, path)
        info = export_peers.export_peers(path, 2, self.path("whole"), size=(20, 20, 20))
        self.assertEqual(info["input_shape"], [2, 3, 20, 20, 20])
        self.assertEqual(info["output_shape"], [2, 3])
        ts = torch.jit.load(self.path("whole/model.pt"))
        x = torch.randn(2, 3, 20, 20, 20, generator=_gen(2))
        with torch.no_grad():
            self.assertTrue(torch.allclose(ts(x), m(x)["probabilities"], atol=1e-6))
        self.assertGreater(os.path.getsize(self.path("whole/model.onnx")), 100000)
        self._check_onnx(self.path("whole"), "probabilities")
        info = export_peers.export_peers(path, 2, self.path("bb"), backbone_only=True, size=(20, 20, 20))
        self.assertEqual(info["input_shape"], [6, 1, 20, 20, 20])
        self.assertEqual(info["output_shape"], [6, 64])
        self._check_onnx(self.path("bb"), "features")

    def _check_onnx(self, d, out_name):
        try:
            import onnxruntime
        except ImportError:
            return  # not installed with Debian's PyTorch; the TorchScript check above still runs
        s = onnxruntime.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
        with h5py.File(os.path.join(d, "reference.h5"), "r") as f:
            got = s.run(None, {"x": f["input"][()]})[0]
            # ONNX Runtime's kernels sum in another order: float32 rounding only
            np.testing.assert_allclose(got, f[out_name][()], atol=1e-5, rtol=1e-4)


if __name__ == "__main__":
    unittest.main()
