"""Tests of renal_mtl/preprocess.py's two grid rules against nibabel as the oracle (the engine's own tests,
loader MaskOnAnotherGridTest and ReorientationTest, use the same oracles):

* a mask on another grid: nibabel's ``resample_from_to(mask, reference, order=0)`` written on the reference grid
  must give the same network input and ROI as the mask on its own (oblique, finer) grid;
* ``reorient="ras"``: the crop of a file stored in any voxel order equals the default crop of nibabel's
  ``as_closest_canonical`` of the same files, and the axes it picks are nibabel's ``io_orientation``.

Run: /usr/bin/python3 -m unittest discover -s weights/export
"""

import os
import shutil
import sys
import tempfile
import unittest

import nibabel as nib
import numpy as np
from nibabel.orientations import aff2axcodes, io_orientation
from nibabel.processing import resample_from_to

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from renal_mtl.preprocess import PreprocessingConfig, preprocess  # noqa: E402
from renal_mtl.volume import closest_axes, orientation  # noqa: E402
from test_preprocess import lps_grid, phantom_hu, rounding_bound, save, tumour_of, world_of  # noqa: E402

CFG = PreprocessingConfig(size=(20, 28, 24), spacing_mm=(1.3, 0.9, 1.1), margin_mm=6.0, hu_low=-200.0,
                          hu_high=300.0, normalisation="zscore", mean=60.0, std=80.0)


def rotation(axis, degrees):
    axis = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    t = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    r = np.eye(4)
    r[:3, :3] = np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k
    return r


class GridsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        rng = np.random.default_rng(12)
        shape = (80, 72, 24)
        cls.ref_affine = lps_grid(shape, (0.8, 0.8, 2.5))
        world = world_of(cls.ref_affine, shape)
        cls.files = [save(os.path.join(cls.tmp, "arterial.nii.gz"), phantom_hu(world, 0, rng), cls.ref_affine)]
        shape_d = (80, 72, 20)
        other = lps_grid(shape_d, (0.8, 0.8, 3.0), shift=(1.7, 0.0, 1.1))
        cls.files.append(save(os.path.join(cls.tmp, "delayed.nii.gz"),
                              phantom_hu(world_of(other, shape_d), 2, rng), other))
        cls.mask = save(os.path.join(cls.tmp, "mask.nii.gz"), tumour_of(world), cls.ref_affine, np.uint8)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_mask_on_an_oblique_finer_grid_equals_nibabels_nearest_resampling(self):
        # The tumour drawn on a 0.6 mm grid turned 20 degrees about (1, 2, 3), covering it with 4 mm to spare: no
        # voxel centre of the reference lies on a tie, and the mask grid's edge holds only background.
        r = rotation((1, 2, 3), 20.0)
        n = np.array([48, 44, 52])
        a = r @ np.diag([0.6, 0.6, 0.6, 1.0])
        a[:3, 3] = np.array([-12.0, 6.0, 4.0]) - a[:3, :3] @ ((n - 1) / 2.0)
        labels = tumour_of(world_of(a, n)).astype(np.uint8)
        self.assertFalse(labels[[0, -1]].any() or labels[:, [0, -1]].any() or labels[:, :, [0, -1]].any())
        oblique = save(self.path("mask_oblique.nii.gz"), labels, a, np.uint8)
        on_ref = resample_from_to(nib.load(oblique), nib.load(self.files[0]), order=0)
        self.assertEqual(on_ref.shape, nib.load(self.files[0]).shape)
        oracle_mask = save(self.path("mask_nibabel.nii.gz"), np.asarray(on_ref.dataobj), self.ref_affine, np.uint8)
        for reorient in ("none", "ras"):
            got = preprocess(self.files, oblique, CFG, reorient=reorient)
            want = preprocess(self.files, oracle_mask, CFG, reorient=reorient)
            np.testing.assert_array_equal(got.data, want.data)
            roi = want.roi_report()
            self.assertFalse(roi["mask_resampled"])
            roi["mask_resampled"] = True
            self.assertEqual(got.roi_report(), roi)
            self.assertEqual(got.mask_voxels, int(np.count_nonzero(np.asarray(on_ref.dataobj))))
        # Not a copy of the reference's own mask: the two rasterisations of the same ellipsoid differ somewhere.
        self.assertNotEqual(got.mask_voxels, int(tumour_of(world_of(self.ref_affine, (80, 72, 24))).sum()))

    def variants(self):
        """The files re-stored under other voxel orders (as_reoriented), and turned in the world; NIfTI-2, whose
        float64 affine keeps nibabel's canonical affine exact."""
        out = {}
        turned = rotation((1, 0, 0), 12) @ rotation((0, 0, 1), 25)
        for name, ornt, world in (("lps", None, np.eye(4)), ("sagittal", [[2, -1], [0, 1], [1, -1]], np.eye(4)),
                                  ("oblique", [[1, 1], [2, -1], [0, 1]], turned)):
            files = {}
            for f in self.files + [self.mask]:
                img = nib.load(f)
                if ornt is not None:
                    img = img.as_reoriented(np.array(ornt))
                img = nib.Nifti2Image(np.asarray(img.dataobj), world @ img.affine)
                stem = os.path.basename(f).split(".")[0]
                files[stem] = self.path("%s_%s.nii" % (name, stem))
                nib.save(img, files[stem])
                can = nib.as_closest_canonical(img)
                files["canonical_" + stem] = self.path("%s_canonical_%s.nii" % (name, stem))
                nib.save(nib.Nifti2Image(np.asarray(can.dataobj), can.affine), files["canonical_" + stem])
            out[name] = files
        return out

    def test_ras_crop_is_the_crop_of_as_closest_canonical(self):
        for name, f in self.variants().items():
            ras = preprocess([f["arterial"], f["delayed"]], f["mask"], CFG, reorient="ras")
            can = preprocess([f["canonical_arterial"], f["canonical_delayed"]], f["canonical_mask"], CFG)
            bound = rounding_bound(CFG, can.data)
            self.assertLessEqual(float(np.abs(ras.data.astype(np.float64) - can.data).max()), bound, name)
            np.testing.assert_allclose(ras.affine, can.affine, rtol=0, atol=1e-9, err_msg=name)
            self.assertEqual(ras.coverage, can.coverage, name)
            self.assertEqual((ras.reorientation, ras.network_axes, can.network_axes), ("ras", "RAS", "RAS"), name)
            self.assertEqual(aff2axcodes(ras.affine), ("R", "A", "S"), name)
            none = preprocess([f["arterial"], f["delayed"]], f["mask"], CFG)
            stored = "".join(aff2axcodes(nib.load(f["arterial"]).affine))
            self.assertEqual((none.reorientation, none.network_axes), ("none", stored), name)
            if name != "oblique":  # axis-aligned: the same ROI, only the voxel order differs
                self.assertEqual(ras.roi_report()["world_min_xyz_mm"], none.roi_report()["world_min_xyz_mm"], name)
            self.assertNotEqual(stored, "RAS", name)
            self.assertFalse(np.array_equal(ras.data, none.data), name)

    def test_closest_axes_are_io_orientation(self):
        rng = np.random.default_rng(5)
        perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        for t in range(120):
            a = np.eye(4)
            p = np.eye(3)[:, perms[t % 6]] * rng.choice([-1.0, 1.0], 3)
            a[:3, :3] = rotation(rng.normal(size=3), rng.uniform(0, 40))[:3, :3] @ p @ np.diag(rng.uniform(0.4, 5, 3))
            if t % 3 == 0:
                a[:3, :3] += rng.normal(0, 0.1, (3, 3))  # a little shear: the polar factor matters
            a[:3, 3] = rng.normal(0, 100, 3)
            aff = [float(v) for v in a.reshape(16)]
            want = io_orientation(a)
            self.assertEqual(closest_axes(aff), [(int(w), int(s)) for w, s in want], a)
            self.assertEqual(orientation(aff), "".join(aff2axcodes(a)), a)


if __name__ == "__main__":
    unittest.main()
