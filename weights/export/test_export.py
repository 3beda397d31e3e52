"""Tests of the Python side of the weight format. Run: /usr/bin/python3 -m unittest discover -s weights/export

The HDF5 layout, round trips, named configs, format versions, the fixtures and the peers; the mapper's error
reporting and prefix options. Checkpoints of the upstream projects (MedicalNet, Hara, MONAI, DeepCTR-Torch,
easezyc) are exported and compared with the models that made them in test_upstream_checkpoints.py.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checkpoints  # noqa: E402
import export  # noqa: E402
import export_peers  # noqa: E402
import make_fixtures  # noqa: E402
import mapping  # noqa: E402
import upstream_heads as H  # noqa: E402
import upstream_resnets as R  # noqa: E402
from renal_mtl import config as C  # noqa: E402
from renal_mtl.model import RenalModel  # noqa: E402

def _gen(seed):
    return torch.Generator().manual_seed(seed)


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

    def test_all_problems_reported_at_once(self):
        user = H.UserModel(R.MedicalNetResNet(R.BasicBlock, [1, 1, 1, 1], "A", widths=(4, 8, 8, 16)),
                           H.EasezycPLEFirst([], 48, 6, (12, 10), (4,), 3, 1, 1, 0.0))  # first layout, 2 levels
        state = dict(user.state_dict())
        state["backbone.layer2.0.conv1.weight"] = torch.zeros(8, 4, 3, 3, 2)  # misshaped
        state["optimizer_step"] = torch.zeros(1)  # unmapped
        state = checkpoints.normalise(state, "x.pth")
        cfg = small_config(C.resnet_backbone(**MEDNET_R10), C.ple_head())
        with self.assertRaises(export.ExportError) as cm:
            mapping.map_checkpoint(state, cfg, where="x.pth")
        msg = str(cm.exception)
        for part in ("x.pth: ", "first layout (ee2427f) with 2 levels", "\n    optimizer_step\n",
                     "\n    backbone.layer2.0.conv1.weight (8, 4, 3, 3, 2) (expected (8, 4, 3, 3, 3))"):
            self.assertIn(part, msg)
        # --drop silences the unmapped key only
        with self.assertRaises(export.ExportError) as cm:
            mapping.map_checkpoint(state, cfg, drop=["^optimizer_"])
        self.assertNotIn("optimizer_step", str(cm.exception))
        self.assertIn("first layout (ee2427f)", str(cm.exception))

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
        state = checkpoints.normalise(renamed, "c")
        with self.assertRaises(export.ExportError):
            mapping.map_checkpoint(state, cfg)  # ambiguous without prefixes
        bbp = {t: ["nets.%d.encoder." % i] for i, t in enumerate(["ccrcc", "stage", "renal"])}
        hp = {t: "nets.%d.classifier." % i for i, t in enumerate(["ccrcc", "stage", "renal"])}
        m = mapping.map_checkpoint(state, cfg, bbp, hp)
        model = export.build_model(m.config, {k: v.numpy() for k, v in m.tensors.items()}, "mapped")
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
        lines = str(cm.exception).splitlines()
        self.assertEqual(lines[0], path + ": 3 problems")
        for part in ("  1 tensors the model needs that are not there", "    head.towers.0.out.bias",
                     "  1 tensors the model does not have", "    extra.weight",
                     "  1 tensors holding NaN or infinity", "    backbone.bn1.weight"):
            self.assertIn(part, lines)

    def test_cli_errors_leave_no_file(self):
        out = self.path("never.h5")
        cj = self.path("c.json")
        with open(cj, "w") as f:
            json.dump(C.r18_3p_96_mtdl(), f)
        r = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", self.path("nope.pth"),
                            "--config", cj, "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "export.py: error: %s: no such file" % self.path("nope.pth"))
        torch.save({"state_dict": {"conv1.weight": torch.zeros(1)}}, self.path("tiny.pth"))
        r = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--checkpoint", self.path("tiny.pth"),
                            "--config", cj, "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(out))
        self.assertEqual([n for n in os.listdir(self.tmp) if n.endswith(".tmp")], [])

    def test_format_version_is_the_lowest_that_holds_the_config(self):
        plain = C.ple_head(expert_hidden=([32], [32]), activation="relu", gate_hidden_bn=False)
        self.assertEqual(small_config(C.resnet_backbone(), plain)["format_version"], 1)  # written as version 1
        self.assertEqual(small_config(C.resnet_backbone(), plain)["networks"][0]["head"]["expert_hidden"], [32])
        for head in (C.ple_head(activation="tanh"), C.ple_head(expert_hidden=([32], [16])),
                     C.ple_head(gate_hidden=(4,), gate_hidden_bn=True),
                     C.mlp_head(activation="leaky_relu", negative_slope=0.3)):
            tasks = ["renal"] if head["type"] == "mlp" else ["ccrcc", "stage", "renal"]
            net = {"name": "n", "prefix": "", "tasks": tasks, "fusion": "batch", "backbone": C.resnet_backbone(),
                   "head": head}
            cfg = C.model_config("v2", [net], tasks=[t for t in C.PAPER_TASKS if t["name"] in tasks])
            self.assertEqual(cfg["format_version"], 2, head)
            cfg["format_version"] = 1
            with self.assertRaises(C.ConfigError) as cm:
                C.validate(cfg)
            self.assertIn("which need format_version 2", str(cm.exception))
            torch.manual_seed(0)
            path = self.path("v2.h5")
            export.save_h5(RenalModel(C.validate(C.settle_version(cfg))).eval(), path)
            back = export.load_h5(path)
            self.assertEqual(back.config["networks"][0]["head"], head)

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
