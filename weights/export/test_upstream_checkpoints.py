"""Checkpoints as the upstream projects make them, exported and compared with the model that made them.

Each test builds a user's model from upstream_resnets.py and upstream_heads.py (the upstream key names and forward math, rebuilt from
MedicalNet @ 2d880ef, Hara's 3D-ResNets @ b2d4a80, MONAI @ 7c26e5a, DeepCTR-Torch @ f685425 and easezyc @ 52a5aa1
/ ee2427f; see that file), gives it random weights with non-trivial BatchNorm statistics, saves it the way that
project saves checkpoints, exports it with export.py and requires the exported model's probabilities to be the
user's model's within float32 rounding. The silent failures of issue 12 must be refused or correct.

Run: /usr/bin/python3 -m unittest discover -s weights/export
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
import upstream_heads as H  # noqa: E402
import upstream_resnets as R  # noqa: E402
from problems import ExportError  # noqa: E402
from renal_mtl import config as C  # noqa: E402

# The exported model and the user's run the same float32 operations in another order (folded input layer,
# bmm vs matmul, mean vs adaptive pooling): probabilities agree to ~1e-7; a wrong geometry or activation
# moves them by 0.01 to 0.9.
ATOL = 1e-5
SIZE = (24, 24, 24)
SMALL = (8, 16, 32, 64)


class MyTanh(nn.Module):
    """A user's own activation module: nothing in its class says tanh, so only --module can tell."""

    def forward(self, x):
        return torch.tanh(x)


def config(head=None, fusion="batch", in_channels=1, geometry=None):
    """A 3-phase, 3-task config at SIZE; geometry: a preset name for the backbone, or the Hara-style default."""
    bb = C.resnet_backbone(depth=18, in_channels=in_channels)
    if geometry:
        bb = export.backbones.apply_preset(bb, geometry)
    net = {"name": "mtdl", "prefix": "", "tasks": [t["name"] for t in C.PAPER_TASKS], "fusion": fusion,
           "backbone": bb, "head": head or C.ple_head()}
    return C.model_config("test", [net], size=SIZE)


def deepctr(features, activation="relu", use_bn=False, gate=(6,), shared=1, specific=2):
    return H.DeepCtrPLE(features, shared_expert_num=shared, specific_expert_num=specific, num_levels=2,
                        expert_dnn_hidden_units=(16, 8), gate_dnn_hidden_units=gate, tower_dnn_hidden_units=(5,),
                        dnn_activation=activation, dnn_use_bn=use_bn, task_types=("binary",) * 3)


def user_model(backbone, head, fusion="batch", seed=0):
    """The whole model with random weights, BN statistics calibrated on 4 random cases."""
    model = H.UserModel(backbone, head, fusion)
    x = torch.randn((4, 3) + SIZE, generator=torch.Generator().manual_seed(seed + 1))  # (B, P, D, H, W)
    return H.randomize(model, lambda: model(x), seed)


def adam_state(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3).state_dict()  # floats: refused by torch 1.13 weights_only


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="renal_mtl_upstream_")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def save(self, name, obj):
        torch.save(obj, self.path(name))
        return self.path(name)

    def save_medicalnet_train(self, name, backbone):
        """MedicalNet train.py: DataParallel (module.) state dict with epoch, batch and optimizer state."""
        wrapped = nn.DataParallel(backbone)
        return self.save(name, {"ecpoch": 3, "batch_id": 0, "state_dict": wrapped.state_dict(),
                                "optimizer": adam_state(backbone)})

    def export(self, files, cfg, **kw):
        """export_checkpoint with cfg written as JSON; returns (exported model, notes)."""
        cj = self.path("config.json")
        with open(cj, "w") as f:
            json.dump(cfg, f)
        out = self.path("model.h5")
        notes = export.export_checkpoint(files, cj, out, **kw)
        return export.load_h5(out), notes

    def assert_same(self, exported, user, fusion="batch"):
        x = torch.randn((3, 3) + SIZE, generator=torch.Generator().manual_seed(11))
        with torch.no_grad():
            want = user(x)
            got = exported(x)["probabilities"]
        self.assertGreater(float(want.std()), 0.05, "degenerate probabilities: %s" % want)
        self.assertLessEqual(float((got - want).abs().max()), ATOL, (got, want))

    def module_file(self, name, model):
        """A factory module --module can import: it returns the pickled model (weights are loaded over it)."""
        torch.save(model, self.path(name + ".pkl"))
        with open(self.path(name + ".py"), "w") as f:
            f.write("import torch\n\ndef factory():\n    return torch.load(%r, weights_only=False)\n"
                    % self.path(name + ".pkl"))
        if self.tmp not in sys.path:
            sys.path.insert(0, self.tmp)
        return name + ":factory"


class MedicalNetDeepCtrTest(Base):
    """A MedicalNet training checkpoint (backbone) and a DeepCTR-Torch state dict (head) in two files."""

    def setUp(self):
        super().setUp()
        self.user = user_model(R.MedicalNetResNet(R.BasicBlock, [2, 2, 2, 2], "A", widths=SMALL),
                               deepctr(3 * 64, activation="sigmoid"))
        self.files = [self.save_medicalnet_train("resnet_18_epoch_3.pth.tar", self.user.backbone),
                      self.save("ple.pth", self.user.head.state_dict())]

    def test_exports_and_matches_with_the_preset(self):
        model, notes = self.export(self.files, config(C.ple_head(activation="sigmoid")),
                                   presets={None: "medicalnet-r18"})
        self.assert_same(model, self.user)
        head = model.config["networks"][0]["head"]
        self.assertEqual(model.config["format_version"], 2)
        self.assertEqual((head["activation"], head["shared_experts"], head["gate"]["hidden"]), ("sigmoid", 1, [6]))
        text = "\n".join(notes)
        self.assertIn("shared_experts.0.0.1", text)  # built by DeepCTR, never used: dropped, not counted
        self.assertIn("conv_seg", text)
        self.assertIn("preset medicalnet-r18", text)

    def test_the_printed_default_config_is_refused(self):
        # issue 12: exported with Hara geometry this gave probabilities 0.94 off, silently
        with self.assertRaises(ExportError) as cm:
            self.export(self.files, config(C.ple_head(activation="sigmoid")))
        msg = str(cm.exception)
        for part in ("geometry that contradicts", "looks like MedicalNet's (conv_seg keys)",
                     "dilations [1, 1, 1, 1] (MedicalNet's [1, 1, 2, 4])", "(--preset medicalnet-r18)"):
            self.assertIn(part, msg)

    def test_preset_of_another_depth_is_refused(self):
        with self.assertRaises(ExportError) as cm:
            self.export(self.files, config(C.ple_head(activation="sigmoid")), presets={None: "medicalnet-r34"})
        self.assertIn("preset medicalnet-r34 is a ResNet-34, the checkpoint's is a ResNet-18", str(cm.exception))

    def test_undeclared_activation_is_refused_and_module_reads_it(self):
        # issue 12: a sigmoid head exported without saying so ran as ReLU, probabilities 0.8 off
        with self.assertRaises(ExportError) as cm:
            self.export(self.files, config(), presets={None: "medicalnet-r18"})
        self.assertIn("DeepCTR's dnn_activation (relu by default; sigmoid, tanh, leaky ReLU) leaves no tensors",
                      str(cm.exception))
        model, _ = self.export(self.files, config(), presets={None: "medicalnet-r18"}, head_activation="sigmoid")
        self.assert_same(model, self.user)
        model, notes = self.export(self.files, config(), presets={None: "medicalnet-r18"},
                                   module=self.module_file("user_sigmoid", self.user))
        self.assertEqual(model.config["networks"][0]["head"]["activation"], "sigmoid")
        self.assertTrue(any(n.startswith("checked against --module") for n in notes), notes)
        self.assert_same(model, self.user)

    def test_module_names_the_first_layer_that_differs(self):
        for m in self.user.head.modules():
            if isinstance(m, nn.ModuleList) and all(isinstance(a, nn.Sigmoid) for a in m) and len(m):
                for i in range(len(m)):
                    m[i] = MyTanh()
        with self.assertRaises(ExportError) as cm:
            self.export(self.files, config(), presets={None: "medicalnet-r18"}, head_activation="relu",
                        module=self.module_file("user_mytanh", self.user))
        msg = str(cm.exception)
        self.assertIn("probabilities differ", msg)
        self.assertRegex(msg, r"first layer that differs: head\.levels\.0\.\w+\.[.\d]*layers\.1 \(your "
                              r"(shared|specific)_experts\.0\.\d\.\d\.linears\.1\)")

    def test_wrong_geometry_with_module_is_refused_at_the_first_layer(self):
        with self.assertRaises(ExportError) as cm:
            self.export(self.files, config(C.ple_head(activation="sigmoid")),
                        module=self.module_file("user_geometry", self.user))
        self.assertIn("first layer that differs: backbone.layer3.0.conv1 (your layer3.0.conv1): shape",
                      str(cm.exception))


class HaraEasezycTest(Base):
    def test_hara_training_checkpoint_and_easezyc_head(self):  # easezyc's experts are always ReLU: nothing to name
        user = user_model(R.HaraResNet(R.BasicBlock, [2, 2, 2, 2], block_inplanes=SMALL, n_input_channels=1),
                          H.EasezycPLE([], 3 * 64, 12, (16, 8), (6,), 3, 2, 2, 0.2))
        opt = torch.optim.SGD(user.backbone.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, [50, 100])  # its milestones are a Counter
        files = [self.save("save_200.pth", {"epoch": 200, "arch": "resnet-18", "state_dict": user.backbone.state_dict(),
                                            "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}),
                 self.save("aliexpress_ple.pt", user.head.state_dict())]
        model, notes = self.export(files, config(), presets={None: "hara-r18"})
        self.assert_same(model, user)
        head = model.config["networks"][0]["head"]
        self.assertEqual(head["expert_hidden"], [[16], [8]])  # easezyc's bottom_mlp_dims per level
        self.assertTrue(any("numerical_layer" in n for n in notes), notes)
        # without the preset the default config's stem stride 2 along z passes Hara's fixed geometry, with a warning
        _, notes = self.export(files, config())
        self.assertTrue(any("WARNING: stem stride [2, 2, 2] (default [1, 2, 2])" in n for n in notes), notes)

    def test_another_hara_model_is_refused_by_name(self):
        user = user_model(R.HaraResNet(R.BasicBlock, [2, 2, 2, 2], block_inplanes=SMALL, n_input_channels=1),
                          deepctr(3 * 64))
        files = [self.save("bb.pth", {"arch": "resnext-18", "state_dict": user.backbone.state_dict()}),
                 self.save("head.pth", user.head.state_dict())]
        with self.assertRaises(ExportError) as cm:
            self.export(files, config(), presets={None: "hara-r18"}, head_activation="relu")
        self.assertIn("arch 'resnext-18' is not one of Hara's plain ResNets", str(cm.exception))


class MonaiTest(Base):
    def test_ignite_checkpoint_channels_fusion_and_easezyc_first_layout(self):
        bb = R.MonaiResNet(R.BasicBlock, [1, 1, 1, 1], block_inplanes=SMALL, n_input_channels=3, conv1_t_stride=2)
        user = user_model(bb, H.EasezycPLEFirst([], 64, 10, (12,), (6,), 3, 1, 2, 0.0), fusion="channels")
        files = [self.save("checkpoint_net_opt.pt", {"net": user.state_dict(), "opt": adam_state(user)})]
        cfg = config(fusion="channels", in_channels=3, geometry="monai-r10")
        cfg["networks"][0]["backbone"]["stem"]["stride"] = [2, 2, 2]  # conv1_t_stride=2
        model, notes = self.export(files, cfg)
        self.assert_same(model, user)
        bbc = model.config["networks"][0]["backbone"]
        self.assertEqual((bbc["depth"], bbc["downsample_bias"], bbc["in_channels"]), (10, True, 3))
        self.assertTrue(any("under 'net'; ignored: opt" in n for n in notes), notes)

    def test_easezyc_first_layout_with_two_levels_is_refused(self):
        bb = R.MonaiResNet(R.BasicBlock, [1, 1, 1, 1], block_inplanes=SMALL, n_input_channels=3)
        user = user_model(bb, H.EasezycPLEFirst([], 64, 10, (12, 8), (6,), 3, 1, 2, 0.0), fusion="channels")
        with self.assertRaises(ExportError) as cm:
            self.export([self.save("m.pt", user.state_dict())], config(fusion="channels", in_channels=3,
                                                                      geometry="monai-r10"))
        self.assertIn("first layout (ee2427f) with 2 levels", str(cm.exception))


class PickledModuleTest(Base):
    def setUp(self):
        super().setUp()
        self.user = user_model(R.MedicalNetResNet(R.BasicBlock, [1, 1, 1, 1], "B", widths=SMALL),
                               deepctr(3 * 64, activation=nn.LeakyReLU, use_bn=True))
        self.file = self.save("whole_model.pth", self.user)

    def test_needs_trust_pickle_then_reads_the_activation(self):
        with self.assertRaises(ExportError) as cm:
            self.export([self.file], config(), presets={None: "medicalnet-r10"})
        self.assertIn("--trust-pickle", str(cm.exception))
        model, _ = self.export([self.file], config(), presets={None: "medicalnet-r10"}, trust_pickle=True)
        head = model.config["networks"][0]["head"]
        self.assertEqual((head["activation"], head["negative_slope"], head["gate"]["hidden_bn"]), ("leaky_relu", 0.01,
                                                                                                    True))
        self.assert_same(model, self.user)

    def test_torchscript_module_checks_the_export(self):
        traced = torch.jit.trace(self.user, torch.randn((2, 3) + SIZE))
        ts = self.path("user.pt")
        traced.save(ts)
        files = [self.save("sd.pth", self.user.state_dict())]
        cfg = config(C.ple_head(activation="leaky_relu"))
        model, notes = self.export(files, cfg, presets={None: "medicalnet-r10"}, module=ts)
        self.assertTrue(any(n.startswith("checked against --module") for n in notes), notes)
        self.assert_same(model, self.user)


class MergedFilesTest(Base):
    def test_one_file_per_phase_backbone_with_prefixes(self):
        from renal_mtl.model import RenalModel
        cfg = config(C.ple_head(levels=1, expert_hidden=(8,), tower_hidden=()), fusion="separate")
        for_phase = C.resnet_backbone(depth=10, widths=SMALL)
        cfg["networks"][0]["backbone"] = for_phase
        torch.manual_seed(3)
        src = RenalModel(C.validate(cfg)).eval()
        sd = src.state_dict()
        files = []
        for i, phase in enumerate(cfg["phases"]):
            p = "backbones.%d." % i
            files.append("%s.=%s" % (phase, self.save(phase + ".pth", {k[len(p):]: v for k, v in sd.items()
                                                                       if k.startswith(p)})))
        files.append(self.save("head.pth", {k: v for k, v in sd.items() if k.startswith("head.")}))
        with self.assertRaises(ExportError) as cm:  # the same names in three files
            self.export([f.split("=", 1)[-1] for f in files], cfg)
        self.assertIn("are also in", str(cm.exception))
        self.assertIn("--checkpoint PREFIX.=FILE", str(cm.exception))
        model, _ = self.export(files, cfg, backbone_prefixes={"mtdl": ["arterial.", "venous.", "delayed."]})
        x = torch.randn((2, 3) + SIZE, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            self.assertTrue(torch.equal(model(x)["logits"], src(x)["logits"]))


class RefusedTest(Base):
    def head_only(self, head):
        user = user_model(R.MedicalNetResNet(R.BasicBlock, [1, 1, 1, 1], "B", widths=SMALL), head)
        return [self.save("m.pth", user.state_dict())]

    def test_prelu_and_dice_are_refused_by_name(self):
        for act, name in (("prelu", "PReLU (dnn_activation='prelu')"), ("dice", "Dice (dnn_activation='dice')")):
            with self.assertRaises(ExportError) as cm:
                self.export(self.head_only(deepctr(3 * 64, activation=act)), config(), presets={None: "medicalnet-r10"})
            self.assertNotIn("leaves no tensors", str(cm.exception))  # named, so not asked for
            self.assertIn("activations the engine does not have", str(cm.exception))
            self.assertIn(name, str(cm.exception))

    def test_resnet101_is_refused_by_name(self):
        bb = R.MedicalNetResNet(R.Bottleneck, [3, 4, 23, 3], "B", widths=(4, 4, 4, 4))
        files = [self.save("r101.pth", {"state_dict": bb.state_dict()})]
        with self.assertRaises(ExportError) as cm:
            self.export(files, config(), presets={None: "medicalnet-r50"})
        self.assertIn("ResNet-101: the engine runs ResNet-10, 18, 34 and 50", str(cm.exception))

    def test_norm_without_running_statistics_is_refused(self):
        bb = R.MonaiResNet(R.BasicBlock, [1, 1, 1, 1], block_inplanes=SMALL, n_input_channels=1)
        sd = {k: v for k, v in bb.state_dict().items() if "running_" not in k and "num_batches" not in k}
        with self.assertRaises(ExportError) as cm:
            self.export([self.save("in.pth", sd)], config(), presets={None: "monai-r10"})
        self.assertIn("bn1 has no running statistics", str(cm.exception))

    def test_cli_report_is_readable(self):
        files = self.head_only(deepctr(3 * 64))
        state = torch.load(files[0])
        state.update({"ema.%04d.weight" % i: torch.zeros(2) for i in range(1234)})
        state["backbone.layer2.0.conv1.weight"] = torch.zeros(16, 8, 3, 3, 2)
        torch.save(state, files[0])
        cj = self.path("c.json")
        with open(cj, "w") as f:
            json.dump(config(), f)
        out = self.path("never.h5")
        r = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", files[0], "--config", cj,
                            "--preset", "medicalnet-r10", "--head-activation", "relu", "--out", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertFalse(os.path.exists(out))
        lines = r.stderr.strip().splitlines()
        self.assertRegex(lines[0], r"^export\.py: error: .*m\.pth: 1235 problems$")
        self.assertTrue(any(ln.startswith("  1234 source keys that map onto nothing (hint: --drop REGEX")
                            for ln in lines), lines)
        self.assertIn("    ema.0000.weight", lines)
        self.assertIn("    ... and 1224 more", lines)
        self.assertIn("    backbone.layer2.0.conv1.weight (16, 8, 3, 3, 2) (expected (16, 8, 3, 3, 3))", lines)
        self.assertLess(len(lines), 30)
        self.assertTrue(all(len(ln) < 250 for ln in lines), max(lines, key=len))


if __name__ == "__main__":
    unittest.main()
