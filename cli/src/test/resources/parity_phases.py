"""Writes two more "phases" of a CT on grids of their own, for PreprocessParityTest: the engine must resample
them onto the reference phase in world space exactly as weights/export/renal_mtl/preprocess.py does.

usage: parity_phases.py CT.nii.gz MASK.nii.gz OUT_DIR  ->  OUT_DIR/venous.nii.gz, delayed.nii.gz,
       mask_venous.nii.gz, sagittal.nii.gz, mask_sagittal.nii.gz

* venous: the CT's own voxels with x reversed, rotated 10 degrees about the world z axis through the scan's
  centre and shifted by (1.3, -2.1, 0.7) mm; stored as uint16 with scl_slope 0.5, scl_inter -1024 and a
  qform only (sform_code 0), so the engine's qform arithmetic and scaling are what place and scale it.
* delayed: the CT resampled (scipy, trilinear) onto an oblique 2 mm grid (12 degrees about (1, 1, 0)),
  float32, sform only, in micrometres (xyzt_units 3), which the engine converts to mm and nibabel does not.
* mask_venous: the mask (of the CT's grid) stored on the venous grid, as the mask of another phase of the study
  would be: the engine resamples it onto the reference phase (nearest, world space) as preprocess.py must.
* sagittal, mask_sagittal: the CT and the mask re-stored with their voxel axes permuted and flipped
  (as_reoriented [[2, -1], [0, 1], [1, -1]]: a PIL file whose fastest axis runs along z), float32, sform only,
  so that --reorient ras must permute and flip the crop's axes back to RAS.
"""

import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def rotation(axis, degrees):
    axis = np.asarray(axis, dtype=np.float64)
    axis /= np.linalg.norm(axis)
    t = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def about(r, centre, shift=(0.0, 0.0, 0.0)):
    """World -> world: rotate by r about centre, then shift."""
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = centre - r @ centre + np.asarray(shift)
    return m


def main(ct_path, mask_path, out_dir):
    ct = nib.load(ct_path)
    hu = np.asarray(ct.dataobj, dtype=np.float64)  # (X, Y, Z)
    a = ct.affine
    centre = a @ np.append((np.array(hu.shape) - 1) / 2.0, 1.0)
    centre = centre[:3]

    flip = np.eye(4)
    flip[0, 0] = -1
    flip[0, 3] = hu.shape[0] - 1  # new i -> old i = nx - 1 - i
    venous_affine = about(rotation((0, 0, 1), 10.0), centre, (1.3, -2.1, 0.7)) @ a @ flip
    stored = np.rint((hu[::-1] + 1024.0) * 2.0).astype(np.uint16)
    img = nib.Nifti1Image(stored, None)
    img.set_qform(venous_affine, code=1)
    img.set_sform(np.eye(4), code=0)
    img.header.set_slope_inter(0.5, -1024.0)
    img.header.set_xyzt_units("mm")
    nib.save(img, os.path.join(out_dir, "venous.nii.gz"))
    mask = nib.load(mask_path)
    img = nib.Nifti1Image(np.asarray(mask.dataobj)[::-1].astype(np.uint8), None)
    img.set_qform(venous_affine, code=1)
    img.set_sform(np.eye(4), code=0)
    img.header.set_xyzt_units("mm")
    nib.save(img, os.path.join(out_dir, "mask_venous.nii.gz"))
    for name, src, dtype in (("sagittal", ct, np.float32), ("mask_sagittal", mask, np.uint8)):
        moved = src.as_reoriented(np.array([[2, -1], [0, 1], [1, -1]]))
        img = nib.Nifti1Image(np.asarray(moved.dataobj).astype(dtype), None)
        img.set_sform(moved.affine, code=1)
        img.set_qform(np.eye(4), code=0)
        img.header.set_xyzt_units("mm")
        nib.save(img, os.path.join(out_dir, name + ".nii.gz"))

    r = rotation((1, 1, 0), 12.0)
    corners = np.array([[i, j, k, 1.0] for i in (0, hu.shape[0] - 1) for j in (0, hu.shape[1] - 1)
                        for k in (0, hu.shape[2] - 1)]) @ a.T
    local = (corners[:, :3] - centre) @ r  # the corners in the oblique frame
    lo, hi = local.min(axis=0), local.max(axis=0)
    n = np.ceil((hi - lo) / 2.0).astype(int) + 1
    grid = np.eye(4)
    grid[:3, :3] = r * 2.0
    grid[:3, 3] = centre + r @ lo
    ijk = np.stack(np.meshgrid(*[np.arange(s) for s in n], indexing="ij"), axis=0).reshape(3, -1)
    world = grid[:3, :3] @ ijk + grid[:3, 3:4]
    src = np.linalg.inv(a)[:3, :3] @ world + np.linalg.inv(a)[:3, 3:4]
    delayed = ndimage.map_coordinates(hu, src, order=1, mode="constant", cval=-1024.0).reshape(n)
    microns = grid.copy()
    microns[:3, :] *= 1000.0
    img = nib.Nifti1Image(delayed.astype(np.float32), None)
    img.set_sform(microns, code=1)
    img.set_qform(np.eye(4), code=0)
    img.header.set_xyzt_units("micron")
    nib.save(img, os.path.join(out_dir, "delayed.nii.gz"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
