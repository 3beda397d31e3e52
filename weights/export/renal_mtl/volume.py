"""Volumes as the renal-mtl engine reads and places them: the NIfTI reading of loader/.../NiftiReader.java and
NiftiHeader.java, and the 4 x 4 affine arithmetic of Geometry.java, transcribed with the same float64 operations in
the same order so that :mod:`renal_mtl.preprocess` reproduces the engine's network input bit for bit.

Needs numpy and nibabel; imports nothing else from this package.
"""

import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["PreprocessingError", "Volume", "read_nifti"]


class PreprocessingError(ValueError):
    """Bad input, with one line naming the file and the problem, as the engine reports it (exit code 2)."""


@dataclass(frozen=True)
class Volume:
    """One scalar volume as the engine holds it."""

    data: np.ndarray  # (Z, Y, X) float32, C order: voxel [z, y, x] has NIfTI indices (i, j, k) = (x, y, z)
    affine: np.ndarray  # (4, 4) float64, voxel (i, j, k, 1) -> world (x, y, z, 1) mm, RAS+
    source: str = "array"

    @classmethod
    def from_xyz(cls, data, affine, source="array"):
        """From an array in nibabel's (X, Y, Z) order and its voxel-to-world affine (e.g. ``img.affine``)."""
        data = np.asarray(data)
        if data.ndim != 3:
            raise PreprocessingError("%s: a volume must be 3-D, got shape %r" % (source, data.shape))
        return cls(np.ascontiguousarray(data.transpose(2, 1, 0), dtype=np.float32),
                   np.asarray(affine, dtype=np.float64).reshape(4, 4), source)


# ---------------------------------------------------------------------------------------------------------
# Reading NIfTI as loader/.../NiftiReader.java and NiftiHeader.java do.

def read_nifti(path):
    """Reads a NIfTI-1/2 file as the engine does; returns a :class:`Volume`.

    Voxels become float32 after ``scl_slope``/``scl_inter`` (computed in float64; a slope of 0 or NaN means no
    scaling). The affine is the sform when ``sform_code > 0`` and it is usable, else the qform when
    ``qform_code > 0``, else diag(pixdim), converted to mm when ``xyzt_units`` says metres or micrometres;
    nibabel's ``img.affine`` differs in the last case and in the units. NaN or infinite voxels are refused.
    """
    import nibabel as nib

    src = os.fspath(path)
    try:
        img = nib.load(src)
    except Exception as e:  # nibabel raises many types; the engine's message names the file
        raise PreprocessingError("%s: cannot read (%s)" % (src, e)) from e
    h = img.header
    raw = np.asanyarray(img.dataobj.get_unscaled())  # (X, Y, Z[, 1 ...]) in the file's type
    if raw.ndim > 3:
        if any(n != 1 for n in raw.shape[3:]):
            raise PreprocessingError("%s: a 3-D volume is needed, got dimensions %r" % (src, raw.shape))
        raw = raw.reshape(raw.shape[:3])
    raw = raw.reshape(raw.shape + (1,) * (3 - raw.ndim))
    # nibabel moves scl_slope/scl_inter from the header into the proxy on loading (1 and 0 for a slope of 0 or
    # NaN, as the engine does; a finite slope with a non-finite intercept is refused by nibabel, read with 0 by
    # the engine).
    slope = float(img.dataobj.slope)
    inter = float(img.dataobj.inter)
    if raw.dtype == np.uint64:
        # The engine widens unsigned 64-bit values at or above 2^63 as (v >>> 1) * 2.0 + (v & 1).
        wide = np.where(raw >= np.uint64(1 << 63), (raw >> np.uint64(1)).astype(np.float64) * 2.0
                        + (raw & np.uint64(1)).astype(np.float64), raw.astype(np.float64))
    else:
        wide = raw.astype(np.float64)
    if slope != 1 or inter != 0:
        wide = wide * slope + inter
    data = np.ascontiguousarray(wide.astype(np.float32).transpose(2, 1, 0))  # (Z, Y, X)
    bad = ~np.isfinite(data)
    if bad.any():
        z, y, x = np.argwhere(bad)[0]
        raise PreprocessingError("%s: %d voxels are NaN or infinite (first at z,y,x = %d,%d,%d)"
                                 % (src, int(bad.sum()), z, y, x))
    return Volume(data, _engine_affine(h, src), src)


def _engine_affine(h, src):
    """NiftiHeader.geometry: sform if its code is set and it is usable, else qform, else diag(pixdim); in mm."""
    unit = {1: 1000.0, 3: 0.001}.get(int(h["xyzt_units"]) & 7, 1.0)
    pixdim = [float(v) for v in h["pixdim"]]

    def usable(a):
        a = [v * unit for v in a[:12]] + [0.0, 0.0, 0.0, 1.0]
        if not all(math.isfinite(v) for v in a):
            return None
        det = det3(a)
        if not math.isfinite(det) or abs(det) <= 1e-12 or not all(math.isfinite(v) for v in invert(a)):
            return None
        return a

    if int(h["sform_code"]) > 0:
        srow = [float(v) for row in ("srow_x", "srow_y", "srow_z") for v in h[row]]
        a = usable(srow + [0.0, 0.0, 0.0, 0.0])
        if a is not None:
            return np.array(a).reshape(4, 4)
    if any(not (p > 0) or not math.isfinite(p) for p in pixdim[1:4]):
        raise PreprocessingError("%s: voxel sizes pixdim[1..3] must be finite and positive, got %r"
                                 % (src, pixdim[1:4]))
    if int(h["qform_code"]) > 0:
        a = usable(_qform(h, pixdim))
    else:
        a = usable([pixdim[1], 0.0, 0.0, 0.0, 0.0, pixdim[2], 0.0, 0.0, 0.0, 0.0, pixdim[3], 0.0])
    if a is None:
        raise PreprocessingError("%s: voxel-to-world affine is singular or not finite" % src)
    return np.array(a).reshape(4, 4)


def _qform(h, pixdim):
    """nifti1.h method 2 exactly as NiftiHeader.qformAffine computes it (row-major 3 x 4 as a list)."""
    qb, qc, qd = float(h["quatern_b"]), float(h["quatern_c"]), float(h["quatern_d"])
    qa = 1.0 - (qb * qb + qc * qc + qd * qd)
    if qa < 1e-7:
        n = math.sqrt(qb * qb + qc * qc + qd * qd)
        qb, qc, qd, qa = qb / n, qc / n, qd / n, 0.0
    else:
        qa = math.sqrt(qa)
    qfac = -1.0 if pixdim[0] < 0 else 1.0
    d = [pixdim[1], pixdim[2], pixdim[3] * qfac]
    r = [qa * qa + qb * qb - qc * qc - qd * qd, 2 * (qb * qc - qa * qd), 2 * (qb * qd + qa * qc),
         2 * (qb * qc + qa * qd), qa * qa + qc * qc - qb * qb - qd * qd, 2 * (qc * qd - qa * qb),
         2 * (qb * qd - qa * qc), 2 * (qc * qd + qa * qb), qa * qa + qd * qd - qc * qc - qb * qb]
    off = [float(h["qoffset_x"]), float(h["qoffset_y"]), float(h["qoffset_z"])]
    a = []
    for row in range(3):
        a += [r[row * 3 + col] * d[col] for col in range(3)] + [off[row]]
    return a


# ---------------------------------------------------------------------------------------------------------
# 4 x 4 affines as loader/.../Geometry.java computes them (row-major lists of 16 floats, same operation order,
# so that every float64 result is the engine's).

def multiply(a, b):
    r = [0.0] * 16
    for i in range(4):
        for j in range(4):
            s = 0.0
            for k in range(4):
                s += a[i * 4 + k] * b[k * 4 + j]
            r[i * 4 + j] = s
    return r


def det3(a):
    return (a[0] * (a[5] * a[10] - a[6] * a[9]) - a[1] * (a[4] * a[10] - a[6] * a[8])
            + a[2] * (a[4] * a[9] - a[5] * a[8]))


def invert(a):
    det = det3(a)
    r = [0.0] * 16
    r[0] = (a[5] * a[10] - a[6] * a[9]) / det
    r[1] = (a[2] * a[9] - a[1] * a[10]) / det
    r[2] = (a[1] * a[6] - a[2] * a[5]) / det
    r[4] = (a[6] * a[8] - a[4] * a[10]) / det
    r[5] = (a[0] * a[10] - a[2] * a[8]) / det
    r[6] = (a[2] * a[4] - a[0] * a[6]) / det
    r[8] = (a[4] * a[9] - a[5] * a[8]) / det
    r[9] = (a[1] * a[8] - a[0] * a[9]) / det
    r[10] = (a[0] * a[5] - a[1] * a[4]) / det
    for i in range(3):
        r[i * 4 + 3] = -(r[i * 4] * a[3] + r[i * 4 + 1] * a[7] + r[i * 4 + 2] * a[11])
    r[15] = 1.0
    return r


def to_world(a, i, j, k):
    return [a[0] * i + a[1] * j + a[2] * k + a[3], a[4] * i + a[5] * j + a[6] * k + a[7],
            a[8] * i + a[9] * j + a[10] * k + a[11]]


def spacing_zyx(a):
    s = [math.sqrt(a[c] * a[c] + a[4 + c] * a[4 + c] + a[8 + c] * a[8 + c]) for c in range(3)]  # (i, j, k)
    return [s[2], s[1], s[0]]


def as_list(affine):
    a = [float(v) for v in np.asarray(affine, dtype=np.float64).reshape(16)]
    a[12:16] = [0.0, 0.0, 0.0, 1.0]
    return a


def closest_axes(a):
    """Geometry.closestAxes, nibabel's ``io_orientation``: for voxel axes i, j, k, (world axis 0/1/2, sign ±1).

    The 3 x 3 part with unit columns is replaced by its polar factor (Newton's iteration X <- (X + X^-T) / 2, as the
    engine computes it); then for i, j, k in turn the world axis with the largest |entry| in that column (the first
    on ties), whose row is then zeroed so that no two voxel axes take the same world axis.
    """
    s = [math.sqrt(a[c] * a[c] + a[4 + c] * a[4 + c] + a[8 + c] * a[8 + c]) for c in range(3)]  # (i, j, k)
    x = [[a[r * 4 + c] / s[c] for c in range(3)] for r in range(3)]  # (world row, voxel column)
    for _ in range(100):
        inv_t = _inverse_transpose(x)
        change = 0.0
        for r in range(3):
            for c in range(3):
                v = (x[r][c] + inv_t[r][c]) / 2
                change = max(change, abs(v - x[r][c]))
                x[r][c] = v
        if change < 1e-15:
            break
    out = []
    for c in range(3):
        best = 0
        for r in (1, 2):
            if abs(x[r][c]) > abs(x[best][c]):
                best = r
        out.append((best, -1 if x[best][c] < 0 else 1))
        x[best] = [0.0, 0.0, 0.0]
    return out


def orientation(a):
    """Geometry.orientation, nibabel's ``aff2axcodes``: three letters such as "RAS" or "LPS"."""
    return "".join(("RAS" if sign > 0 else "LPI")[axis] for axis, sign in closest_axes(a))


def _inverse_transpose(m):
    det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
           - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
           + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    r = [[0.0] * 3 for _ in range(3)]  # cofactor matrix / det = (m^-1)^T
    for i in range(3):
        for j in range(3):
            i1, i2, j1, j2 = (i + 1) % 3, (i + 2) % 3, (j + 1) % 3, (j + 2) % 3
            r[i][j] = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / det
    return r
