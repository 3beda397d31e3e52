"""Tests of the nnU-Net v2 side: renal_mtl/unet.py, export.py --nnunet (nnunet_export.py), make_nnunet_folder.py,
make_seg_fixtures.py. Run: /usr/bin/python3 -m unittest discover -s weights/export

The key layout expected here is written out from dynamic-network-architectures' module nesting (ENGINEERING.md §1:
a 6-stage PlainConvUNet has 292 keys and 108 distinct tensors), not derived from renal_mtl/unet.py.
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
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
import make_nnunet_folder  # noqa: E402
import make_seg_fixtures  # noqa: E402
import nnunet_export  # noqa: E402
from renal_mtl.unet import SegUNet, inference_tensors, is_alias  # noqa: E402


def plain_net(n=5, features=(32, 64, 128, 256, 320, 320), classes=3):
    return {"class": "PlainConvUNet", "input_channels": 1, "num_classes": classes,
            "features_per_stage": list(features[:n]), "kernel_sizes": [[3, 3, 3]] * n,
            "strides": [[1, 1, 1]] + [[2, 2, 2]] * (n - 1), "n_conv_per_stage": [2] * n,
            "n_conv_per_stage_decoder": [2] * (n - 1), "conv_bias": True,
            "norm": {"type": "InstanceNorm3d", "eps": 1e-5, "affine": True},
            "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}}


def distinct(state):
    return len({v.data_ptr() for v in state.values()})


class UNetKeysTest(unittest.TestCase):
    def test_plain_key_counts(self):
        for n, keys, tensors in ((5, 240, 88), (6, 292, 108)):
            state = SegUNet(plain_net(n)).state_dict()
            self.assertEqual((len(state), distinct(state)), (keys, tensors), n)
            kept = inference_tensors(state, n - 1)
            # distinct minus the n-2 deep-supervision heads (weight + bias each)
            self.assertEqual(len(kept), tensors - 2 * (n - 2))
            self.assertFalse(any(is_alias(k) for k in kept))

    def test_plain_key_names(self):
        state = SegUNet(plain_net(5)).state_dict()
        for k in ("encoder.stages.0.0.convs.0.conv.weight", "encoder.stages.0.0.convs.0.all_modules.0.weight",
                  "encoder.stages.0.0.convs.1.all_modules.1.bias", "decoder.encoder.stages.4.0.convs.1.norm.bias",
                  "decoder.transpconvs.0.weight", "decoder.stages.3.convs.1.norm.weight", "decoder.seg_layers.3.bias"):
            self.assertIn(k, state)
        # transposed conv weight is (in, out, k...) with kernel = stride; the first reads the bottleneck
        self.assertEqual(tuple(state["decoder.transpconvs.0.weight"].shape), (320, 256, 2, 2, 2))
        self.assertEqual(tuple(state["decoder.stages.0.convs.0.conv.weight"].shape), (256, 512, 3, 3, 3))
        self.assertEqual(tuple(state["decoder.seg_layers.3.weight"].shape), (3, 32, 1, 1, 1))
        # DNA's registration order: the decoder holds the encoder first, then stages, transpconvs, seg_layers
        dec = [k.split(".")[1] for k in state if k.startswith("decoder.")]
        self.assertEqual([d for i, d in enumerate(dec) if i == 0 or dec[i - 1] != d],
                         ["encoder", "stages", "transpconvs", "seg_layers"])

    def test_residual_keys(self):
        net = dict(plain_net(4, (8, 16, 32, 64)), **{"class": "ResidualEncoderUNet", "n_conv_per_stage": [1, 2, 2, 2],
                                                      "n_conv_per_stage_decoder": [1, 1, 1]})
        state = SegUNet(net).state_dict()
        enc = {k for k in state if k.startswith("encoder.")}
        self.assertIn("encoder.stem.convs.0.conv.weight", enc)
        # stage 0 block 0: no stride, same width -> no skip; stage 1 block 0: AvgPool (index 0) + projection (1)
        self.assertFalse(any(k.startswith("encoder.stages.0.blocks.0.skip") for k in enc))
        self.assertIn("encoder.stages.1.blocks.0.skip.1.conv.weight", enc)
        self.assertNotIn("encoder.stages.1.blocks.0.skip.1.conv.bias", enc)  # projection has no bias
        self.assertNotIn("encoder.stages.1.blocks.1.skip.1.conv.weight", enc)
        self.assertIn("encoder.stages.1.blocks.0.conv2.norm.weight", enc)
        self.assertIn("decoder.encoder.stem.convs.0.all_modules.0.weight", state)

    def test_residual_forward_against_functional(self):
        """One BasicBlockD and the plain U-Net's first decoder step, recomputed with torch.nn.functional."""
        torch.manual_seed(0)
        net = dict(plain_net(2, (4, 8)), **{"class": "ResidualEncoderUNet", "n_conv_per_stage": [1, 1],
                                             "n_conv_per_stage_decoder": [1], "strides": [[1, 1, 1], [1, 2, 2]],
                                             "kernel_sizes": [[1, 3, 3], [3, 3, 3]]})
        m = make_nnunet_folder.randomise(SegUNet(net), torch.Generator().manual_seed(3)).double().eval()
        s = m.state_dict()
        x = torch.randn(1, 1, 4, 8, 8, dtype=torch.float64)

        def cna(x, p, stride, pad, act=True, bias=True):
            y = F.conv3d(x, s[p + ".conv.weight"], s.get(p + ".conv.bias") if bias else None, stride, pad)
            y = F.instance_norm(y, weight=s[p + ".norm.weight"], bias=s[p + ".norm.bias"], eps=1e-5)
            return F.leaky_relu(y, 0.01) if act else y

        stem = cna(x, "encoder.stem.convs.0", 1, (0, 1, 1))
        b0 = F.leaky_relu(cna(cna(stem, "encoder.stages.0.blocks.0.conv1", 1, (0, 1, 1)),
                              "encoder.stages.0.blocks.0.conv2", 1, (0, 1, 1), act=False) + stem, 0.01)
        p = "encoder.stages.1.blocks.0"
        skip = cna(F.avg_pool3d(b0, (1, 2, 2), (1, 2, 2)), p + ".skip.1", 1, 0, act=False, bias=False)
        b1 = F.leaky_relu(cna(cna(b0, p + ".conv1", (1, 2, 2), 1), p + ".conv2", 1, 1, act=False) + skip, 0.01)
        up = F.conv_transpose3d(b1, s["decoder.transpconvs.0.weight"], s["decoder.transpconvs.0.bias"], (1, 2, 2))
        d = cna(torch.cat((up, b0), 1), "decoder.stages.0.convs.0", 1, (0, 1, 1))
        want = F.conv3d(d, s["decoder.seg_layers.0.weight"], s["decoder.seg_layers.0.bias"])
        with torch.no_grad():
            got = m(x)
        # float64 both ways, same operations in the same order: only summation-order rounding differs
        self.assertLess(float((got - want).abs().max()), 1e-12)


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nnunet-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def folder(self, name="m", **kw):
        path = os.path.join(self.tmp, name)
        net, model = make_nnunet_folder.make_model_folder(path, **kw)
        return path, net, model

    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "export.py")] + list(args),
                              capture_output=True, text=True)

    def export_ok(self, path, *extra):
        out = os.path.join(self.tmp, "seg.h5")
        r = self.run_cli("--nnunet", path, "--fold", "0", "--out", out, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return export.read_h5(out)

    def refused(self, path, needle, *extra):
        out = os.path.join(self.tmp, "bad.h5")
        r = self.run_cli("--nnunet", path, "--out", out, *extra)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(needle, lines[0])
        self.assertTrue(lines[0].startswith("export.py: error: " + path), lines[0])
        self.assertFalse(os.path.exists(out))
        return lines[0]

    def edit_json(self, path, name, fn):
        p = os.path.join(path, name)
        with open(p) as f:
            obj = json.load(f)
        fn(obj)
        with open(p, "w") as f:
            json.dump(obj, f)

    def test_plain_export_content(self):
        path, net, model = self.folder()
        config, tensors = self.export_ok(path, "--tumour-label", "tumor", "--phases", "venous")
        self.assertEqual(config["format"], "renal-mtl-segmentation")
        self.assertEqual(config["format_version"], 1)
        self.assertEqual(config["network"], net)
        self.assertEqual(config["source"], {"dataset": "Dataset901_SynthKiTS", "trainer": "nnUNetTrainer",
                                            "plans": "nnUNetPlans", "configuration": "3d_fullres", "fold": 0,
                                            "checkpoint": "checkpoint_final.pth"})
        self.assertEqual(config["patch_size"], [16, 32, 32])
        self.assertEqual(config["spacing"], [3.0, 0.78125, 0.78125])
        self.assertEqual(config["channels"], [{"name": "CT", "normalization": "CTNormalization",
                                               "use_mask_for_norm": False, "mean": 103.0, "std": 73.3,
                                               "percentile_00_5": -58.0, "percentile_99_5": 302.0}])
        self.assertEqual(config["resampling"]["data"], {"order": 3, "order_z": 0, "force_separate_z": None,
                                                        "separate_z_anisotropy_threshold": 3.0})
        self.assertEqual(config["resampling"]["probabilities"]["order"], 1)
        self.assertIsNone(config["regions_class_order"])
        self.assertEqual(config["labels"], make_nnunet_folder.LABELS)
        self.assertEqual(config["mirroring_axes"], [0, 1, 2])
        self.assertEqual(config["renal_mtl"], {"tumour_label": "tumor", "phases": ["venous"]})
        # tensors: no aliases, only the last seg layer, values exactly the checkpoint's
        state = model.state_dict()
        self.assertEqual(set(tensors), set(inference_tensors(state, 3)))
        self.assertFalse([k for k in tensors if ".all_modules." in k or k.startswith("decoder.encoder.")])
        self.assertEqual(sorted(k for k in tensors if k.startswith("decoder.seg_layers.")),
                         ["decoder.seg_layers.2.bias", "decoder.seg_layers.2.weight"])
        for k, v in tensors.items():
            self.assertEqual(v.dtype, np.float32)
            np.testing.assert_array_equal(v, state[k].numpy(), err_msg=k)
        with h5py.File(os.path.join(self.tmp, "seg.h5")) as f:
            for k in f:
                self.assertIsNone(f[k].compression)
                self.assertIsNone(f[k].chunks)

    def test_residual_regions(self):
        path, net, _ = self.folder(cls="ResidualEncoderUNet", regions=True)
        config, tensors = self.export_ok(path)
        self.assertEqual(config["network"]["class"], "ResidualEncoderUNet")
        self.assertEqual(config["network"]["num_classes"], 3)
        self.assertEqual(config["regions_class_order"], [1, 2, 3])
        self.assertIn("encoder.stages.1.blocks.0.skip.1.conv.weight", tensors)
        self.assertNotIn("renal_mtl", config)
        self.assertEqual(config["source"]["plans"], "nnUNetResEncUNetMPlans")

    def test_old_layout_and_inheritance(self):
        path, net, _ = self.folder(old_layout=True)
        config, _ = self.export_ok(path)
        self.assertEqual(config["network"], net)
        path2, net2, _ = self.folder("inh")
        self.edit_json(path2, "plans.json", lambda p: p["configurations"].update(
            {"3d_big": {"inherits_from": "3d_fullres", "patch_size": [32, 64, 64]}}))
        ck = os.path.join(path2, "fold_0", "checkpoint_final.pth")
        obj = torch.load(ck, weights_only=False)
        obj["init_args"]["configuration"] = "3d_big"
        torch.save(obj, ck)
        config, _ = self.export_ok(path2)
        self.assertEqual(config["patch_size"], [32, 64, 64])
        self.assertEqual(config["network"], net2)
        self.assertEqual(config["source"]["configuration"], "3d_big")

    def test_refusals(self):
        path, _, _ = self.folder()
        cfg = ("plans.json", lambda f: (lambda p: f(p["configurations"]["3d_fullres"])))
        kw = lambda f: cfg[1](lambda c: f(c["architecture"]["arch_kwargs"]))  # noqa: E731
        cases = [
            (lambda p: p["configurations"]["3d_fullres"]["architecture"].update(
                network_class_name="dynamic_network_architectures.architectures.unet.ResidualUNet"), "ResidualUNet"),
            (kw(lambda k: k.update(norm_op="torch.nn.BatchNorm3d")), "BatchNorm3d"),
            (kw(lambda k: k.update(nonlin="torch.nn.ReLU")), "ReLU"),
            (kw(lambda k: k.update(conv_op="torch.nn.modules.conv.Conv2d")), "3-D"),
            (kw(lambda k: k.update(nonlin_first=True)), "nonlin_first"),
            (cfg[1](lambda c: c.update(normalization_schemes=["RescaleTo01Normalization"])),
             "RescaleTo01Normalization"),
            (cfg[1](lambda c: c.update(resampling_fn_data="resample_torch_fornnunet")), "resample_torch_fornnunet"),
            (cfg[1](lambda c: c.update(previous_stage="3d_lowres")), "cascade"),
            (lambda p: p["foreground_intensity_properties_per_channel"]["0"].pop("percentile_99_5"),
             "percentile_99_5"),
            # plans whose network does not match the tensors: the first mismatching tensor is named
            (kw(lambda k: k.update(features_per_stage=[4, 8, 16, 24])),
             "tensor encoder.stages.3.0.convs.0.conv.weight has shape [32, 16, 3, 3, 3] but the plans imply "
             "[24, 16, 3, 3, 3]"),
            (kw(lambda k: k.update(n_conv_per_stage=[2, 2, 2, 1])), "unexpected tensor encoder.stages.3.0.convs.1"),
            (kw(lambda k: k.update(n_conv_per_stage=[2, 2, 3, 2])),
             "tensor encoder.stages.2.0.convs.2.conv.weight is missing"),
        ]
        for edit, needle in cases:
            with self.subTest(needle=needle):
                shutil.rmtree(path)
                path, _, _ = self.folder()
                self.edit_json(path, "plans.json", edit)
                self.refused(path, needle)
        shutil.rmtree(path)
        path, _, _ = self.folder()
        self.edit_json(path, "dataset.json", lambda d: d["labels"].update(kidney=[1, 2]))  # regions, no order
        self.refused(path, "regions_class_order")
        self.refused(os.path.join(self.tmp, "nope"), "not a directory")
        self.refused(path, "no such file", "--checkpoint", "checkpoint_best.pth")

    def test_alias_and_pickle_checks(self):
        path, _, _ = self.folder()
        ck = os.path.join(path, "fold_0", "checkpoint_final.pth")
        obj = torch.load(ck, weights_only=False)
        w = obj["network_weights"]
        w["encoder.stages.0.0.convs.0.all_modules.0.weight"] = w["encoder.stages.0.0.convs.0.conv.weight"] + 1
        torch.save(obj, ck)
        self.refused(path, "alias encoder.stages.0.0.convs.0.all_modules.0.weight differs")
        # a checkpoint without the alias keys (deduplicated elsewhere) is accepted
        obj["network_weights"] = {k: v for k, v in w.items() if not is_alias(k)}
        torch.save(obj, ck)
        self.export_ok(path)
        # a pickle that names any other global is refused unless --trust-pickle
        obj["init_args"]["hook"] = os.getcwd  # pickled as the global posix.getcwd
        torch.save(obj, ck)
        self.refused(path, "refusing to load global posix.getcwd")
        self.export_ok(path, "--trust-pickle")

    def test_fixtures(self):
        out = os.path.join(self.tmp, "fx")
        make_seg_fixtures.main(["--out", out])
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual([c["case"] for c in manifest["cases"]], ["plain4", "resenc4_regions", "plain5_2ch"])
        for case in manifest["cases"]:
            config, tensors = export.read_h5(os.path.join(out, case["files"]["weights"]))
            net = config["network"]
            m = SegUNet(net).double().eval()
            state = {k: torch.from_numpy(v).double() for k, v in tensors.items()}
            missing, unexpected = m.load_state_dict(
                dict(state, **{k: v for k, v in m.state_dict().items() if k not in state}), strict=False)
            self.assertFalse(unexpected)
            with h5py.File(os.path.join(out, case["files"]["io"])) as f:
                for n in ("n1", "n2"):
                    x = torch.from_numpy(f["input_" + n][()]).double()
                    self.assertEqual(list(x.shape), [int(n[1]), net["input_channels"]] + config["patch_size"])
                    with torch.no_grad():
                        got = m(x)
                    # the float32 weights read back reproduce the stored float64 logits exactly (same weights,
                    # same float64 arithmetic)
                    np.testing.assert_allclose(got.numpy(), f["logits_" + n][()], rtol=0, atol=1e-12)
            if "layers" in case["files"]:
                with h5py.File(os.path.join(out, case["files"]["layers"])) as f:
                    order = json.loads(f.attrs["order"])
                    self.assertEqual(order, case["layers"])
                    self.assertEqual(order[-1], "decoder.seg_layers.%d" % (len(net["features_per_stage"]) - 2))
                    self.assertEqual(set(order), set(f.keys()))


if __name__ == "__main__":
    unittest.main()
