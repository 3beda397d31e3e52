"""Writes a 3-D NIfTI volume as a DICOM CT series (one uncompressed int16 file per slice), for tests of
renal-mtl's DICOM input; and makes the committed synthetic fixture two_series/.

    /usr/bin/python3 nifti_to_dicom.py IN.nii[.gz] OUT_DIR --uid UID --number N --description TEXT
    /usr/bin/python3 nifti_to_dicom.py --fixtures     # rewrites two_series/ beside this script

Geometry, DICOM's way (PS3.3 C.7.6.2.1.1): pixel (row r, column c) of slice k lies at
ImagePositionPatient_k + c * colSpacing * X + r * rowSpacing * Y in LPS millimetres, with X, Y the two
ImageOrientationPatient vectors and PixelSpacing = [rowSpacing, colSpacing]. NIfTI voxel (i, j, k) is written
as column c = i, row r = j of slice k, so the NIfTI affine's first two columns (turned from RAS into LPS) are
X * colSpacing and Y * rowSpacing, and its third column steps ImagePositionPatient from slice to slice. The
affine must have orthogonal first two columns (no shear in plane); voxel values are rounded to int16.

Needs pydicom, nibabel and numpy (Debian: python3-pydicom python3-nibabel).
"""
import argparse
import os
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
LPS = np.diag([-1.0, -1.0, 1.0])  # RAS <-> LPS, its own inverse


def write_series(data, affine, out_dir, uid, number, description, study_uid="1.2.826.0.1.3680043.8.498.1"):
    """data: (nx, ny, nz) values; affine: (4, 4) NIfTI voxel -> RAS mm."""
    a = LPS @ np.asarray(affine, dtype=float)[:3, :]
    col_step, row_step, slice_step, origin = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    dc, dr = np.linalg.norm(col_step), np.linalg.norm(row_step)
    x, y = col_step / dc, row_step / dr
    if abs(x @ y) > 1e-6:
        raise ValueError("in-plane axes are not orthogonal: DICOM cannot hold this affine")
    values = np.rint(np.asarray(data, dtype=np.float64))
    if values.min() < -32768 or values.max() > 32767:
        raise ValueError("values do not fit int16")
    nx, ny, nz = values.shape
    os.makedirs(out_dir, exist_ok=True)
    for k in range(nz):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = "%s.%d" % (uid, k + 1)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = uid
        ds.SeriesNumber = number
        ds.SeriesDescription = description
        ds.Modality = "CT"
        ds.Manufacturer = "renal-mtl test"
        ds.PatientID = "SYNTHETIC"
        ds.PatientName = "Synthetic^Phantom"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [float(v) for v in origin + k * slice_step]
        ds.ImageOrientationPatient = [float(v) for v in np.concatenate([x, y])]
        ds.PixelSpacing = [float(dr), float(dc)]
        ds.SliceThickness = float(np.linalg.norm(slice_step))
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
        ds.PixelData = np.ascontiguousarray(values[:, :, k].T.astype("<i2")).tobytes()  # (rows, columns)
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(os.path.join(out_dir, "%s_%04d.dcm" % (number, k)), write_like_original=False)


def fixtures():
    """two_series/: an axial 'Arterial 1.0' series and an oblique 'Venous 1.0' series (rotated 30 degrees about
    the patient's z axis, then 20 degrees about x), 6 x 5 x 4 voxels each, values a seeded random field."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "two_series")
    for f in os.listdir(here) if os.path.isdir(here) else []:
        os.remove(os.path.join(here, f))
    rng = np.random.default_rng(12)
    axial = np.diag([-0.8, -0.7, 2.5, 1.0])
    axial[:3, 3] = [10.0, 20.0, 30.0]
    write_series(rng.integers(-1000, 1500, (6, 5, 4)), axial, here, "1.2.826.0.1.3680043.8.498.101", 3,
                 "Arterial 1.0")
    cz, sz, cx, sx = np.cos(np.pi / 6), np.sin(np.pi / 6), np.cos(np.pi / 9), np.sin(np.pi / 9)
    rot = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]]) @ np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    oblique = np.eye(4)
    oblique[:3, :3] = rot @ np.diag([0.9, 0.6, 3.0])
    oblique[:3, 3] = [-5.0, 12.0, 40.0]
    write_series(rng.integers(-1000, 1500, (6, 5, 4)), oblique, here, "1.2.826.0.1.3680043.8.498.102", 4,
                 "Venous 1.0")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("nifti", nargs="?")
    p.add_argument("out_dir", nargs="?")
    p.add_argument("--uid", default="1.2.826.0.1.3680043.8.498.200")
    p.add_argument("--number", type=int, default=1)
    p.add_argument("--description", default="CT")
    p.add_argument("--fixtures", action="store_true")
    a = p.parse_args()
    if a.fixtures:
        fixtures()
        return
    if not a.nifti or not a.out_dir:
        p.error("give IN.nii and OUT_DIR, or --fixtures")
    img = nib.load(a.nifti)
    write_series(img.get_fdata(), img.affine, a.out_dir, a.uid, a.number, a.description)


if __name__ == "__main__":
    sys.exit(main())
