"""Tests of renal_mtl/preprocess.py against oracles that share none of its code.

Run: /usr/bin/python3 -m unittest discover -s weights/export (the engine side: cli PreprocessParityTest, which
holds the engine's --save-input to this module on the real CT).

A phantom like the engine's (loader/.../phantom: an LPS grid of 0.8 x 0.8 x 2.5 mm centred on the world
origin, air, body, kidney and an ellipsoidal tumour enhancing 150/115/75 HU, the delayed phase on its own
3 mm grid with a shifted origin) is written as NIfTI files and preprocessed. Oracles:

* scipy.ndimage.map_coordinates (order 1) at the network voxels' world positions, mapped with numpy.linalg.inv,
  the network grid built from the definition (centre of the mask box, spacing, scale-to-fit factor);
* an image that is an affine function of world position, which trilinear interpolation reproduces exactly;
* nibabel for what it reads the same way as the engine (voxels, scaling, sform, qform).
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

import h5py
import nibabel as nib
import numpy as np
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from renal_mtl import config as C  # noqa: E402
from renal_mtl.preprocess import (NetworkInput, PreprocessingConfig, PreprocessingError, Volume,  # noqa: E402
                                  preprocess, read_nifti)

TUMOUR_HU = (150.0, 115.0, 75.0)  # arterial, venous, delayed
TUMOUR_CENTRE = np.array([-12.0, 6.0, 4.0])  # world mm
TUMOUR_AXES = np.array([9.0, 8.0, 11.0])  # semi-axes along world x, y, z, mm


def lps_grid(shape_xyz, spacing, shift=(0.0, 0.0, 0.0)):
    """An LPS affine centred on the world origin (as the engine's phantom), shifted by `shift` mm."""
    a = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    a[:3, 3] = -a[:3, :3] @ ((np.array(shape_xyz) - 1) / 2.0) + np.array(shift)
    return a


def world_of(affine, shape_xyz):
    """(X, Y, Z, 3) world coordinates of every voxel centre."""
    ijk = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape_xyz], indexing="ij"), axis=-1)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def tumour_of(world):
    return (((world - TUMOUR_CENTRE) / TUMOUR_AXES) ** 2).sum(-1) <= 1.0


def phantom_hu(world, phase, rng, noise=10.0):
    """HU at world positions: air, an elliptic body, a kidney, the tumour; Gaussian noise."""
    x, y, z = world[..., 0], world[..., 1], world[..., 2]
    hu = np.full(x.shape, -1000.0)
    hu[(x / 30.0) ** 2 + (y / 24.0) ** 2 <= 1] = 40.0
    hu[((x + 10.0) / 12.0) ** 2 + ((y - 5.0) / 9.0) ** 2 + (z / 16.0) ** 2 <= 1] = (180.0, 160.0, 110.0)[phase]
    hu[tumour_of(world)] = TUMOUR_HU[phase]
    return hu + (rng.normal(0.0, noise, hu.shape) if noise else 0.0)


def save(path, data_xyz, affine, dtype=np.int16):
    img = nib.Nifti1Image(np.rint(data_xyz).astype(dtype) if np.dtype(dtype).kind in "iu" else
                          data_xyz.astype(dtype), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, path)
    return path


def oracle(cfg, files, mask_path, selected):
    """The network input from the definition, with scipy and numpy.linalg only. `selected` (Z, Y, X) bool."""
    ref = nib.load(files[0])
    a_ref = ref.affine
    rs = np.sqrt((a_ref[:3, :3] ** 2).sum(0))[::-1]  # (z, y, x) voxel sizes
    kji = np.argwhere(selected)
    lo, hi = kji.min(0), kji.max(0)
    centre = (lo + hi) / 2.0  # (z, y, x) reference voxel coordinates; the margin is symmetric
    extent = (hi - lo + 1) * rs + 2 * cfg.margin_mm
    size = np.array(cfg.size)
    scale = max(1.0, float((extent / (size * np.array(cfg.spacing_mm))).max()))
    step = np.array(cfg.spacing_mm) * scale / rs  # reference voxels per network voxel, (z, y, x)
    dhw = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in cfg.size], indexing="ij"), axis=-1)
    ref_zyx = centre + (dhw - (size - 1) / 2.0) * step
    ref_ijk1 = np.concatenate([ref_zyx[..., ::-1], np.ones(ref_zyx.shape[:-1] + (1,))], axis=-1)
    world = ref_ijk1 @ a_ref.T
    out = []
    for f in files:
        img = nib.load(f)
        data = np.asarray(img.get_fdata(), dtype=np.float32).astype(np.float64)  # (X, Y, Z)
        ijk = world @ np.linalg.inv(img.affine).T
        pts = ijk[..., :3].reshape(-1, 3).T
        v = ndimage.map_coordinates(data, pts, order=1, mode="nearest").reshape(cfg.size).astype(np.float32)
        inside = np.all((pts >= -0.5) & (pts <= (np.array(data.shape)[:, None] - 0.5)), axis=0).reshape(cfg.size)
        hu = np.where(inside, v, np.float32(cfg.hu_low)).astype(np.float64)
        c = np.clip(hu, cfg.hu_low, cfg.hu_high)
        out.append(((c - cfg.mean) / cfg.std if cfg.normalisation == "zscore" else
                    (c - cfg.hu_low) / (cfg.hu_high - cfg.hu_low)).astype(np.float32))
    return np.stack(out), scale, world


def rounding_bound(cfg, x):
    """One float32 rounding of the interpolated HU (the window's largest |HU|) through the normaliser, plus one
    of the output: the oracle's and the module's float64 arithmetic differ in order, so a sample may round to
    the neighbouring float32 on either side."""
    divisor = cfg.std if cfg.normalisation == "zscore" else cfg.hu_high - cfg.hu_low
    return float(np.spacing(np.float32(max(abs(cfg.hu_low), abs(cfg.hu_high))))) / divisor + \
        float(np.spacing(np.abs(x).max()))


class PhantomTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        rng = np.random.default_rng(2026)
        shape = (80, 72, 24)
        cls.ref_affine = lps_grid(shape, (0.8, 0.8, 2.5))
        world = world_of(cls.ref_affine, shape)
        cls.files = [save(os.path.join(cls.tmp, "arterial.nii.gz"), phantom_hu(world, 0, rng), cls.ref_affine),
                     save(os.path.join(cls.tmp, "venous.nii.gz"), phantom_hu(world, 1, rng), cls.ref_affine)]
        shape_d = (80, 72, 20)
        delayed_affine = lps_grid(shape_d, (0.8, 0.8, 3.0), shift=(1.7, 0.0, 1.1))
        cls.files.append(save(os.path.join(cls.tmp, "delayed.nii.gz"),
                              phantom_hu(world_of(delayed_affine, shape_d), 2, rng), delayed_affine))
        cls.mask_xyz = tumour_of(world)
        cls.mask = save(os.path.join(cls.tmp, "mask.nii.gz"), cls.mask_xyz, cls.ref_affine, np.uint8)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def check_against_oracle(self, cfg):
        x = preprocess(self.files, self.mask, cfg)
        want, scale, _ = oracle(cfg, self.files, self.mask, self.mask_xyz.transpose(2, 1, 0))
        self.assertEqual(x.data.shape, (3,) + cfg.size)
        self.assertEqual(x.data.dtype, np.float32)
        self.assertTrue(x.data.flags.c_contiguous)
        bound = rounding_bound(cfg, want)
        self.assertLessEqual(float(np.abs(x.data.astype(np.float64) - want).max()), bound)
        self.assertAlmostEqual(x.spacing_mm[0] / cfg.spacing_mm[0], scale, places=12)
        self.assertEqual(x.scaled_to_fit, scale > 1)
        return x

    def test_zscore_matches_scipy_oracle(self):
        cfg = PreprocessingConfig(size=(24, 40, 36), spacing_mm=(1.5, 1.0, 1.2), margin_mm=5.0, hu_low=-200.0,
                                  hu_high=300.0, normalisation="zscore", mean=60.0, std=80.0)
        x = self.check_against_oracle(cfg)
        self.assertFalse(x.scaled_to_fit)
        # The tumour box is centred: the middle network voxel is inside the tumour in every phase (the noise is
        # 10 HU, so the value is the enhancement within 5 SD).
        mid = tuple(n // 2 for n in cfg.size)
        for p, hu in enumerate(TUMOUR_HU):
            self.assertAlmostEqual(float(x.data[p][mid]) * cfg.std + cfg.mean, hu, delta=50.0)

    def test_window_scaled_to_fit_matches_scipy_oracle(self):
        # The tumour's voxels span 9 x 19 x 22 voxels (z, y, x) = 22.5 x 15.2 x 17.6 mm; with 2 x 3 mm of margin
        # z needs 28.5 mm of a 16 mm grid, so every spacing grows by 28.5 / 16.
        cfg = PreprocessingConfig(size=(16, 20, 24), spacing_mm=(1.0, 1.0, 1.0), margin_mm=3.0, hu_low=-150.0,
                                  hu_high=250.0, normalisation="window")
        x = self.check_against_oracle(cfg)
        self.assertTrue(x.scaled_to_fit)
        self.assertEqual((x.mask_lo_zyx, x.mask_hi_zyx), ((9, 19, 44), (17, 37, 65)))
        np.testing.assert_allclose(x.spacing_mm, [28.5 / 16] * 3, rtol=1e-15)
        self.assertTrue(np.all((x.data >= 0) & (x.data <= 1)))

    def test_affine_function_is_reproduced_exactly(self):
        # Trilinear interpolation of an affine function of world position is that function (inside the grid,
        # away from the clamped half-voxel rim): a resampling oracle with no interpolation code at all.
        g = np.array([0.7, -1.3, 2.1])

        def field(aff, shape):
            return world_of(aff, shape) @ g + 20.0

        cfg = PreprocessingConfig(size=(20, 28, 24), spacing_mm=(1.7, 0.9, 1.1), margin_mm=4.0, hu_low=-1e4,
                                  hu_high=1e4, normalisation="zscore", mean=0.0, std=1.0)
        shape_d = (70, 64, 22)
        rot = np.eye(4)
        t = np.radians(9.0)
        rot[:2, :2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
        other = rot @ lps_grid(shape_d, (0.9, 1.1, 2.0), shift=(12.6, -0.9, 0.35))
        files = [save(os.path.join(self.tmp, "lin_ref.nii.gz"), field(self.ref_affine, (80, 72, 24)),
                      self.ref_affine, np.float32),
                 save(os.path.join(self.tmp, "lin_other.nii.gz"), field(other, shape_d), other, np.float32)]
        x = preprocess(files, self.mask, cfg)
        _, _, world = oracle(cfg, files, self.mask, self.mask_xyz.transpose(2, 1, 0))
        expected = world[..., :3] @ g + 20.0
        for p, f in enumerate(files):
            img = nib.load(f)
            ijk = (world @ np.linalg.inv(img.affine).T)[..., :3]
            interior = np.all((ijk >= 0) & (ijk <= np.array(img.shape) - 1), axis=-1)
            outside = np.any((ijk < -0.5) | (ijk > np.array(img.shape) - 0.5), axis=-1)
            self.assertGreater(interior.mean(), 0.5, f)
            # float32 voxels of |value| < 256: 1.5e-5 each, a convex combination of them; plus the output's rounding.
            np.testing.assert_allclose(x.data[p][interior], expected[interior], rtol=0, atol=5e-5, err_msg=f)
            np.testing.assert_array_equal(x.data[p][outside], np.float32(-1e4), err_msg=f)
            if p == 1:
                self.assertTrue(outside.any(), "the second grid must leave part of the network grid uncovered, "
                                "or the fill goes untested")

    def test_network_affine_maps_the_grid_centre_to_the_mask_box_centre(self):
        cfg = PreprocessingConfig(size=(30, 30, 30), spacing_mm=(1.0, 1.0, 1.0), margin_mm=0.0, hu_low=-200.0,
                                  hu_high=300.0, normalisation="zscore", mean=60.0, std=80.0)
        x = preprocess(self.files, self.mask, cfg)
        ijk = np.argwhere(self.mask_xyz)
        box_centre = nib.load(self.mask).affine @ np.append((ijk.min(0) + ijk.max(0)) / 2.0, 1.0)
        np.testing.assert_allclose(x.affine @ np.array([14.5, 14.5, 14.5, 1.0]), box_centre, atol=1e-9)
        # Axes along the reference's (LPS) voxel axes: w along i, h along j, d along k, 1 mm each.
        np.testing.assert_allclose(x.affine[:3, :3], np.diag([-1.0, -1.0, 1.0]), atol=1e-12)
        self.assertEqual(x.mask_voxels, int(self.mask_xyz.sum()))
        self.assertEqual(x.components, 1)
        self.assertEqual(x.coverage[0], 1.0)

    def test_readme_example_runs(self):
        # README.md "Training-time parity": its Dataset, as printed there, on the phantom.
        with open(os.path.join(HERE, "..", "..", "README.md"), encoding="utf-8") as f:
            text = f.read()
        block = text.split("## Training-time parity", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
        scope = {"config": C.r18_3p_96_mtdl()}
        exec(compile(block, "README.md", "exec"), scope)
        x, y = scope["Cases"]([(self.files, self.mask, [1.0, 0.0, 1.0])])[0]
        self.assertEqual((tuple(x.shape), str(x.dtype), tuple(y.shape)), ((3, 96, 96, 96), "torch.float32", (3,)))

    def test_config_from_dict_json_and_h5(self):
        cfg = C.r18_3p_96_mtdl()
        want = PreprocessingConfig(size=(96, 96, 96), spacing_mm=(1.0, 1.0, 1.0), margin_mm=10.0, hu_low=-200.0,
                                   hu_high=300.0, normalisation="zscore", mean=60.0, std=80.0)
        self.assertEqual(PreprocessingConfig.from_config(cfg), want)
        self.assertEqual(PreprocessingConfig.from_config(json.dumps(cfg)), want)
        path = os.path.join(self.tmp, "config.h5")
        with h5py.File(path, "w") as f:
            f.attrs["renal_mtl_config"] = json.dumps(cfg)
        self.assertEqual(PreprocessingConfig.from_h5(path), want)
        del cfg["input"]["margin_mm"]
        cfg["preprocessing"] = {"hu_window": [-100, 200], "normalisation": "window"}
        got = PreprocessingConfig.from_config(cfg)
        self.assertEqual((got.margin_mm, got.normalisation, got.mean, got.std), (0.0, "window", 0.0, 1.0))


class MaskAndErrorTest(unittest.TestCase):
    """Mask selection and the inputs the engine refuses, on small in-memory volumes."""

    CFG = PreprocessingConfig(size=(8, 8, 8), spacing_mm=(1.0, 1.0, 1.0), margin_mm=0.0, hu_low=-100.0,
                              hu_high=100.0, normalisation="window")

    def volume(self, data_zyx, affine=None):
        return Volume(np.asarray(data_zyx, dtype=np.float32), np.eye(4) if affine is None else affine, "v")

    def test_largest_component_ties_go_to_the_first_in_scan_order(self):
        m = np.zeros((10, 10, 10))
        m[6:8, 1:3, 1:3] = 1  # 8 voxels, first voxel at z = 6
        m[1:3, 6:8, 6:8] = 1  # 8 voxels, first at z = 1: comes first
        m[8, 8, 8] = 1
        x = preprocess([self.volume(np.zeros((10, 10, 10)))], self.volume(m), self.CFG)
        self.assertEqual((x.mask_lo_zyx, x.mask_hi_zyx, x.components, x.mask_voxels), ((1, 6, 6), (2, 7, 7), 3, 8))
        m[7, 3, 3] = 1  # diagonal neighbour: 26-connected, so the first component grows to 9
        x = preprocess([self.volume(np.zeros((10, 10, 10)))], self.volume(m), self.CFG)
        self.assertEqual((x.mask_lo_zyx, x.mask_hi_zyx, x.mask_voxels), ((6, 1, 1), (7, 3, 3), 9))

    def test_labels_are_rounded_values(self):
        m = np.zeros((10, 10, 10))
        m[2, 2, 2] = 1.6  # label 2
        m[5, 5, 5] = 2.49  # label 2
        m[7, 7, 7] = 2.5  # label 3
        x = preprocess([self.volume(np.zeros((10, 10, 10)))], self.volume(m), self.CFG, label=2)
        self.assertEqual((x.mask_lo_zyx, x.mask_hi_zyx, x.components, x.mask_voxels), ((2, 2, 2), (5, 5, 5), 1, 2))
        m[:] = 0.49  # rounds to 0 everywhere
        with self.assertRaisesRegex(PreprocessingError, "mask is empty"):
            preprocess([self.volume(np.zeros((10, 10, 10)))], self.volume(m), self.CFG)

    def test_refusals(self):
        ct = self.volume(np.zeros((10, 10, 10)))
        m = np.zeros((10, 10, 10))
        m[4, 4, 4] = 1
        shifted = np.eye(4)
        shifted[0, 3] = 0.2  # a fifth of a voxel: another grid, resampled (the voxel stays the nearest)
        x = preprocess([ct], self.volume(m, shifted), self.CFG)
        self.assertEqual((x.mask_lo_zyx, x.mask_resampled, x.roi_report()["mask_resampled"]), ((4, 4, 4), True, True))
        shifted[0, 3] = 0.009  # under 1% of a voxel: the same grid
        self.assertFalse(preprocess([ct], self.volume(m, shifted), self.CFG).mask_resampled)
        far = np.eye(4)
        far[:3, 3] = 100.0
        with self.assertRaisesRegex(PreprocessingError, "mask does not overlap reference phase .*another scan"):
            preprocess([ct], self.volume(m, far), self.CFG)
        outside = np.eye(4)
        outside[2, 3] = 6.0  # the grids overlap, but the labelled voxel (z = 4 + 6) lies beyond the scan
        with self.assertRaisesRegex(PreprocessingError, "a non-zero label all lie outside that phase's scan"):
            preprocess([ct], self.volume(m, outside), self.CFG)
        with self.assertRaisesRegex(PreprocessingError, "label 3 all lie outside"):
            preprocess([ct], self.volume(m * 3, outside), self.CFG, label=3)
        with self.assertRaisesRegex(PreprocessingError, "mask is empty"):
            preprocess([ct], self.volume(np.zeros((10, 10, 10)), outside), self.CFG)
        m[0, 0, 0] = -1
        with self.assertRaisesRegex(PreprocessingError, "not a label mask"):
            preprocess([ct], self.volume(m), self.CFG)
        m[0, 0, 0] = 0
        with self.assertRaisesRegex(PreprocessingError, "phase does not overlap"):
            preprocess([ct, self.volume(np.zeros((10, 10, 10)), far)], self.volume(m), self.CFG)
        with self.assertRaises(PreprocessingError):
            preprocess([], self.volume(m), self.CFG)


class ReadNiftiTest(unittest.TestCase):
    """read_nifti against nibabel where they agree, and the engine's rules where nibabel's differ."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_scaling_qform_sform_and_units(self):
        rng = np.random.default_rng(1)
        raw = rng.integers(0, 4000, (7, 6, 5)).astype(np.int16)  # (X, Y, Z)
        a = np.array([[0.0, -0.9, 0.1, 10.0], [0.8, 0.0, 0.0, -5.0], [0.0, 0.05, 2.5, 3.0], [0, 0, 0, 1]])
        img = nib.Nifti1Image(raw, None)
        img.set_qform(a, code=1)
        img.set_sform(np.eye(4), code=0)
        img.header.set_slope_inter(0.25, -1024.0)
        path = os.path.join(self.tmp, "q.nii.gz")
        nib.save(img, path)
        v = read_nifti(path)
        loaded = nib.load(path)
        np.testing.assert_array_equal(v.data, (raw.astype(np.float64) * 0.25 - 1024.0).astype(np.float32).T)
        np.testing.assert_allclose(v.affine, loaded.affine, rtol=0, atol=1e-6)  # qform: same quaternion maths

        img = nib.Nifti1Image(raw.astype(np.float32), None)
        img.set_sform(a * np.array([[1000.0], [1000.0], [1000.0], [1.0]]), code=2)
        img.header.set_xyzt_units("micron")
        path = os.path.join(self.tmp, "um.nii")
        nib.save(img, path)
        v = read_nifti(path)
        np.testing.assert_allclose(v.affine, a, rtol=1e-6, atol=1e-9)  # the engine converts micrometres to mm
        self.assertGreater(abs(nib.load(path).affine[0, 3]), 1000.0)  # nibabel does not

        h = nib.Nifti1Header()
        h.set_data_shape(raw.shape)
        h.set_data_dtype(np.int16)
        h["pixdim"][1:4] = [0.7, 0.8, 3.0]
        img = nib.Nifti1Image(raw, None, h)
        img.header["sform_code"] = 0
        img.header["qform_code"] = 0
        path = os.path.join(self.tmp, "nocode.nii")
        nib.save(img, path)
        self.assertEqual(int(nib.load(path).header["sform_code"]), 0)
        np.testing.assert_array_equal(read_nifti(path).affine, np.diag([0.7, 0.8, 3.0, 1.0]).astype(np.float32))

    def test_from_xyz_equals_reading_the_file(self):
        rng = np.random.default_rng(3)
        a = lps_grid((20, 18, 9), (0.8, 0.8, 2.5))
        path = save(os.path.join(self.tmp, "ct.nii.gz"), rng.normal(40, 200, (20, 18, 9)), a)
        m = np.zeros((20, 18, 9), dtype=np.uint8)
        m[8:12, 7:10, 3:6] = 1
        mask = save(os.path.join(self.tmp, "m.nii.gz"), m, a, np.uint8)
        cfg = MaskAndErrorTest.CFG
        from_files = preprocess([path], mask, cfg)
        img = nib.load(path)
        mimg = nib.load(mask)
        from_arrays = preprocess([Volume.from_xyz(img.get_fdata(), img.affine)],
                                 Volume.from_xyz(mimg.get_fdata(), mimg.affine), cfg)
        self.assertIsInstance(from_arrays, NetworkInput)
        np.testing.assert_array_equal(from_arrays.data, from_files.data)


if __name__ == "__main__":
    unittest.main()
