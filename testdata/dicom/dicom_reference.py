"""The tests' oracle for DICOM input: reads one DICOM series with pydicom (its own decoders: JPEG 2000 through
Pillow/OpenJPEG), independently of dcm2niix, and writes it as a float32 NIfTI with nibabel.

    /usr/bin/python3 dicom_reference.py DICOM_DIR OUT.nii [--series UID]

Every file in DICOM_DIR (not its sub-folders) that pydicom reads as an image is taken, those of one series
(--series UID, needed if there are several). Slices are ordered by their position along the slice normal
X x Y (X, Y the ImageOrientationPatient vectors). Voxel (i, j, k) is column i, row j of the k-th slice, with
RescaleSlope/RescaleIntercept applied; the affine is DICOM's (PS3.3 C.7.6.2.1.1) in LPS, turned into RAS:
columns X * colSpacing, Y * rowSpacing, (last slice position - first) / (slices - 1), origin the first slice's
ImagePositionPatient. A tool may store the same image with its axes flipped or permuted (dcm2niix flips the
rows): compare voxels through the affines, not index by index.

Needs pydicom, nibabel and numpy (Debian: python3-pydicom python3-nibabel; python3-pil for JPEG 2000).
"""
import argparse
import os

import nibabel as nib
import numpy as np
import pydicom


def read_series(folder, uid=None):
    slices = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        try:
            ds = pydicom.dcmread(path)
        except pydicom.errors.InvalidDicomError:
            continue
        if "PixelData" in ds and (uid is None or ds.get("SeriesInstanceUID", "") == uid):
            slices.append(ds)
    uids = {s.get("SeriesInstanceUID", "") for s in slices}
    if len(uids) != 1:
        raise SystemExit("%s: %d series (give --series UID)" % (folder, len(uids)))
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    x, y = iop[:3], iop[3:]
    normal = np.cross(x, y)
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=float))))
    dr, dc = (float(v) for v in slices[0].PixelSpacing)
    first = np.array(slices[0].ImagePositionPatient, dtype=float)
    last = np.array(slices[-1].ImagePositionPatient, dtype=float)
    step = (last - first) / (len(slices) - 1) if len(slices) > 1 else normal * float(slices[0].SliceThickness)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = x * dc, y * dr, step, first
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    volume = np.stack([s.pixel_array.astype(np.float64) * float(s.get("RescaleSlope", 1))
                       + float(s.get("RescaleIntercept", 0)) for s in slices], axis=-1)  # (rows, columns, slices)
    return np.transpose(volume, (1, 0, 2)).astype(np.float32), ras  # (columns, rows, slices)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("out")
    p.add_argument("--series")
    a = p.parse_args()
    data, affine = read_series(a.folder, a.series)
    nib.save(nib.Nifti1Image(data, affine), a.out)


if __name__ == "__main__":
    main()
