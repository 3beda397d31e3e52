"""The engine's classifier preprocessing in numpy: what ``renal-mtl predict`` feeds the network, for training.

A model trained on crops made differently from the engine's (another resampling, ROI, margin, HU window,
normalisation or axis order) sees other inputs at inference than in training. Call :func:`preprocess` in your
training data pipeline and the network is trained on exactly what the engine gives it::

    from renal_mtl.preprocess import PreprocessingConfig, preprocess

    cfg = PreprocessingConfig.from_h5("model.h5")          # or .from_config(config_dict) before export
    x = preprocess(["arterial.nii.gz", "venous.nii.gz", "delayed.nii.gz"], "mask.nii.gz", cfg)
    tensor = torch.from_numpy(x.data)                       # (P, D, H, W) float32, as the engine's input

It is a transcription of ``loader/.../preprocess/Preprocessor.java`` (and of the NIfTI reading, ROI and
resampling it relies on) that performs the same float64 operations in the same order, so its output equals the
engine's ``predict --save-input`` files bit for bit on the files the tests use (cli ``PreprocessParityTest``;
the tolerance it holds them to is one float32 rounding). The steps, as the engine does them:

1. Read every file as the engine reads NIfTI: voxels become float32 after ``scl_slope``/``scl_inter``
   (computed in float64; a slope of 0 or NaN means no scaling); the voxel-to-world affine is the sform when
   ``sform_code > 0`` (and usable), else the qform when ``qform_code > 0``, else diag(pixdim) — nibabel's
   ``img.affine`` differs in that last case and for a set but singular sform — and lengths in metres or
   micrometres (``xyzt_units``) are converted to mm, which nibabel does not do.
2. The first phase is the reference. A mask on its grid (same dimensions, the 8 corner voxel centres within
   1% of the smallest voxel size) is used as is; a mask on another grid is resampled onto it, nearest neighbour
   in world coordinates (a reference voxel takes the label of the mask voxel nearest its centre, 0 more than
   half a voxel outside the mask's grid; ``mask_resampled``). A mask whose grid's world box does not overlap
   the reference's, or whose selected voxels all fall outside it, is refused.
3. Tumour voxels: the largest 26-connected component of the mask's non-zero voxels (``label=0``, the
   default; ties go to the component whose first voxel comes first in (z, y, x) scan order), or every voxel
   whose rounded value is ``label``. A voxel's label is its value rounded; negative values are refused.
4. ROI: the bounding box of those voxels in reference voxel indices, to the voxels' outer edges (±0.5), grown
   by ``margin_mm`` (converted to voxels per axis) on every side.
5. Network grid: ``size`` (D, H, W) voxels of ``spacing_mm`` (z, y, x), centred on the ROI, with its axes
   along the reference phase's own voxel axes — d along k, h along j, w along i, each in the direction the
   file stores it (``reorient="none"``, the default) — or along those axes permuted and flipped as nibabel's
   ``as_closest_canonical`` does (``reorient="ras"``: w along the voxel axis closest to world +x, h to +y, d
   to +z, chosen as ``io_orientation`` chooses them; the crop is the default crop of the canonical files).
   When the ROI is longer than size × spacing along some axis, all three spacings grow by the same factor
   (``scaled_to_fit``) so that the whole ROI fits.
6. Every phase is sampled on that grid in world coordinates (network voxel → reference voxel → world →
   phase voxel, one composed affine), trilinearly. A point within half a voxel of a phase's grid is inside
   and is interpolated with indices clamped to the edge; farther out it gets ``hu_window[0]``. A phase that
   covers none of the ROI is refused.
7. Clip to ``hu_window``; ``zscore``: ``(hu - mean) / std``; ``window``: ``(hu - low) / (high - low)``.

The output keeps the engine's axis convention: ``data[p, d, h, w]``; ``affine`` maps network voxel
(w, h, d) to world mm (RAS+), as the header of ``input_<phase>.nii.gz`` written by ``--save-input``, which
nibabel reads as an (W, H, D) array: ``nib.load(f).get_fdata().transpose(2, 1, 0)`` is ``data[p]``.

Needs numpy and nibabel; scipy for the default largest-component selection; h5py only for
:meth:`PreprocessingConfig.from_h5`. Reading and affine arithmetic are in :mod:`renal_mtl.volume`, the mask's
selection and resampling in :mod:`renal_mtl.mask`; the three files import nothing else from this package.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .mask import tumour_on_reference, world_box
from .volume import (PreprocessingError, Volume, as_list, closest_axes, invert, multiply, orientation, read_nifti,
                     spacing_zyx, to_world)

__all__ = ["NetworkInput", "PreprocessingConfig", "PreprocessingError", "Volume", "preprocess", "read_nifti"]

# Network slices sampled per step: bounds the float64 temporaries (about 12 arrays of slices × H × W).
_SLAB = 8


@dataclass(frozen=True)
class PreprocessingConfig:
    """The model config's ``input`` and ``preprocessing`` objects (weights/FORMAT.md), with its defaults."""

    size: tuple  # (D, H, W) network voxels
    spacing_mm: tuple  # (z, y, x) mm, along the reference phase's voxel axes (k, j, i)
    margin_mm: float  # added around the tumour's bounding box on every side
    hu_low: float  # clip window; also the value of samples outside a phase
    hu_high: float
    normalisation: str  # "zscore" or "window"
    mean: float = 0.0  # zscore only
    std: float = 1.0  # zscore only

    def __post_init__(self):
        if len(self.size) != 3 or any(int(s) != s or s < 1 for s in self.size):
            raise ValueError("size must be three positive voxel counts (D, H, W), got %r" % (self.size,))
        if len(self.spacing_mm) != 3 or any(not (s > 0) or not math.isfinite(s) for s in self.spacing_mm):
            raise ValueError("spacing_mm must be three positive lengths (z, y, x), got %r" % (self.spacing_mm,))
        if not (self.margin_mm >= 0) or not math.isfinite(self.margin_mm):
            raise ValueError("margin_mm must be >= 0, got %r" % (self.margin_mm,))
        if not (self.hu_low < self.hu_high) or not math.isfinite(self.hu_low) or not math.isfinite(self.hu_high):
            raise ValueError("hu_window must have low < high, got %r..%r" % (self.hu_low, self.hu_high))
        if self.normalisation not in ("zscore", "window"):
            raise ValueError("normalisation must be \"zscore\" or \"window\", got %r" % (self.normalisation,))
        if self.normalisation == "zscore" and not (self.std > 0 and math.isfinite(self.std)
                                                   and math.isfinite(self.mean)):
            raise ValueError("zscore needs a finite mean and std > 0, got %r, %r" % (self.mean, self.std))
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))
        object.__setattr__(self, "spacing_mm", tuple(float(s) for s in self.spacing_mm))

    @classmethod
    def from_config(cls, config):
        """From a model config: a dict (the JSON of ``@renal_mtl_config``) or its JSON text."""
        if isinstance(config, (str, bytes)):
            config = json.loads(config)
        inp = config["input"]
        pre = config["preprocessing"]
        low, high = pre["hu_window"]
        # The engine's defaults for absent fields (weights ConfigParser): margin 0, mean 0, std 1.
        return cls(size=tuple(inp["size"]), spacing_mm=tuple(inp["spacing_mm"]),
                   margin_mm=float(inp.get("margin_mm", 0.0)), hu_low=float(low), hu_high=float(high),
                   normalisation=pre["normalisation"], mean=float(pre.get("mean", 0.0)),
                   std=float(pre.get("std", 1.0)))

    @classmethod
    def from_h5(cls, path):
        """From an exported weight file's ``renal_mtl_config`` attribute (needs h5py)."""
        import h5py

        with h5py.File(path, "r") as f:
            text = f.attrs["renal_mtl_config"]
        return cls.from_config(text.decode("utf-8") if isinstance(text, bytes) else str(text))


@dataclass(frozen=True)
class NetworkInput:
    """What :func:`preprocess` returns; the figures are those of the ``roi`` object in the engine's report (the
    mask box and its margin box are in the reference phase's voxel indices also when the mask was resampled)."""

    data: np.ndarray  # (P, D, H, W) float32, C order: the network input
    affine: np.ndarray  # (4, 4) network voxel (w, h, d, 1) -> world mm, RAS+
    spacing_mm: tuple  # (z, y, x) effective network voxel size
    scaled_to_fit: bool  # spacing enlarged so that the ROI fits
    coverage: tuple  # (P) fraction of the ROI box each phase covers
    mask_lo_zyx: tuple  # inclusive bounding box of the tumour voxels, reference voxel indices
    mask_hi_zyx: tuple
    box_lo_zyx: tuple  # that box grown by the margin, continuous reference voxel coordinates
    box_hi_zyx: tuple
    world_min_xyz: tuple  # the axis-aligned world box around it, mm
    world_max_xyz: tuple
    mask_voxels: int  # tumour voxels
    components: int  # connected components among the mask's non-zero voxels (1 when a label was chosen)
    sources: tuple = field(default=())  # (P) the phases' file names
    reorientation: str = "none"  # the crop axes asked for: "none" or "ras"
    network_axes: str = ""  # orientation codes of the network grid's (w, h, d) axes, e.g. "LPS" or "RAS"
    mask_resampled: bool = False  # the mask was on another grid and was resampled onto the first phase's

    def roi_report(self):
        """The report's ``roi`` object (``result.json``), key for key."""
        return {"mask_voxel_lo_zyx": list(self.mask_lo_zyx), "mask_voxel_hi_zyx": list(self.mask_hi_zyx),
                "world_min_xyz_mm": list(self.world_min_xyz), "world_max_xyz_mm": list(self.world_max_xyz),
                "network_size_dhw": list(self.data.shape[1:]), "network_spacing_zyx_mm": list(self.spacing_mm),
                "scaled_to_fit": self.scaled_to_fit, "mask_components": self.components,
                "phase_coverage": list(self.coverage), "reorientation": self.reorientation,
                "network_axes": self.network_axes, "mask_resampled": self.mask_resampled}


# ---------------------------------------------------------------------------------------------------------
# The preprocessing itself (loader/.../preprocess/Preprocessor.java).

def preprocess(phases, mask, config, label=0, reorient="none"):
    """The network input the engine computes from these files.

    :param phases: P >= 1 phases in the model's phase order (``config["phases"]``), each a NIfTI path or a
        :class:`Volume`; the first is the reference
    :param mask: the tumour mask, a path or a :class:`Volume`: on the first phase's grid, or on another grid that
        overlaps it (then resampled onto it, nearest neighbour in world coordinates)
    :param config: a :class:`PreprocessingConfig`, or a model config dict (``from_config`` is applied)
    :param label: 0 for the largest 26-connected component of the non-zero voxels (the engine's default),
        else the label to use (``predict --label N``)
    :param reorient: ``"none"`` (the network grid along the first phase's voxel axes as stored, the engine's
        default) or ``"ras"`` (those axes permuted and flipped as nibabel's ``as_closest_canonical``):
        ``predict --reorient``
    :returns: a :class:`NetworkInput`; ``.data`` is (P, D, H, W) float32
    :raises PreprocessingError: for the inputs the engine refuses (exit code 2), with its message
    """
    if not isinstance(config, PreprocessingConfig):
        config = PreprocessingConfig.from_config(config)
    if int(label) != label or label < 0:
        raise ValueError("mask label must be 0 (largest component) or positive, got %r" % (label,))
    if reorient not in ("none", "ras"):
        raise ValueError("reorient must be \"none\" or \"ras\", got %r" % (reorient,))
    if not phases:
        raise PreprocessingError("no phase given (need at least the reference phase)")
    vols = [p if isinstance(p, Volume) else read_nifti(p) for p in phases]
    mask = mask if isinstance(mask, Volume) else read_nifti(mask)
    ref = vols[0]
    tumour, components, resampled = tumour_on_reference(mask, ref, int(label))
    lo = [int(v) for v in tumour.min(axis=0)]  # (z, y, x) inclusive
    hi = [int(v) for v in tumour.max(axis=0)]

    rg = as_list(ref.affine)
    rs = spacing_zyx(rg)
    size = config.size
    sp = config.spacing_mm
    box_lo, box_hi = [0.0] * 3, [0.0] * 3
    for a in range(3):
        m = config.margin_mm / rs[a]
        box_lo[a] = lo[a] - 0.5 - m
        box_hi[a] = hi[a] + 0.5 + m
    fg, fs, f_lo, f_hi = _frame(rg, ref.data.shape, box_lo, box_hi, reorient)
    centre = [0.0] * 3
    scale = 1.0
    for a in range(3):
        centre[a] = (f_lo[a] + f_hi[a]) / 2
        extent_mm = (f_hi[a] - f_lo[a]) * fs[a]
        scale = max(scale, extent_mm / (size[a] * sp[a]))
    eff = [sp[0] * scale, sp[1] * scale, sp[2] * scale]
    # Network voxel (w, h, d) -> frame voxel (i, j, k): a step of eff/fs frame voxels per axis, centred on the ROI
    # box; (z, y, x) axis a is voxel axis 2 - a.
    net = [0.0] * 16
    for a in range(3):
        col = 2 - a
        step = eff[a] / fs[a]
        net[col * 4 + col] = step
        net[col * 4 + 3] = centre[a] - (size[a] - 1) / 2.0 * step
    net[15] = 1.0
    net_affine = multiply(fg, net)

    # The ROI box as a grid of frame voxels, for the coverage check.
    roi_map = [0.0] * 16
    roi_n = [0, 0, 0]
    for a in range(3):
        col = 2 - a
        roi_n[a] = max(1, math.floor(f_hi[a] - f_lo[a] + 0.5))  # Java's Math.round
        step = (f_hi[a] - f_lo[a]) / roi_n[a]
        roi_map[col * 4 + col] = step
        roi_map[col * 4 + 3] = f_lo[a] + step / 2
    roi_map[15] = 1.0
    roi_affine = multiply(fg, roi_map)
    coverage = []
    for v in vols:
        c = _overlap_fraction(v, roi_n, roi_affine)
        if c == 0:
            w_min, w_max = world_box(roi_affine, roi_n)
            raise PreprocessingError("%s: phase does not overlap the tumour region of reference phase %s (world box "
                                     "(%.1f, %.1f, %.1f)..(%.1f, %.1f, %.1f) mm)"
                                     % ((v.source, ref.source) + tuple(w_min) + tuple(w_max)))
        coverage.append(c)

    out = np.empty((len(vols),) + size, dtype=np.float32)  # (P, D, H, W)
    fill = float(np.float32(config.hu_low))
    for p, v in enumerate(vols):
        m = multiply(invert(as_list(v.affine)), net_affine)  # network voxel -> phase voxel
        for d0 in range(0, size[0], _SLAB):
            ks = np.arange(d0, min(d0 + _SLAB, size[0]), dtype=np.float64)[:, None, None]
            js = np.arange(size[1], dtype=np.float64)[None, :, None]
            iis = np.arange(size[2], dtype=np.float64)[None, None, :]
            # Same association as the engine: (m1·j + m2·k + m3) per row, then + m0·i.
            x = (m[1] * js + m[2] * ks + m[3]) + m[0] * iis
            y = (m[5] * js + m[6] * ks + m[7]) + m[4] * iis
            z = (m[9] * js + m[10] * ks + m[11]) + m[8] * iis
            hu = _trilinear(v.data, x, y, z, fill)
            out[p, d0:d0 + len(ks)] = _normalise(hu, config)

    world_min = [float("inf")] * 3
    world_max = [float("-inf")] * 3
    corners_lo = [box_lo[2], box_lo[1], box_lo[0]]
    corners_hi = [box_hi[2], box_hi[1], box_hi[0]]
    for c in range(8):
        w = to_world(rg, corners_hi[0] if c & 1 else corners_lo[0], corners_hi[1] if c & 2 else corners_lo[1],
                      corners_hi[2] if c & 4 else corners_lo[2])
        for a in range(3):
            world_min[a] = min(world_min[a], w[a])
            world_max[a] = max(world_max[a], w[a])
    return NetworkInput(out, np.array(net_affine).reshape(4, 4), tuple(eff), scale > 1, tuple(coverage),
                        tuple(lo), tuple(hi), tuple(box_lo), tuple(box_hi), tuple(world_min), tuple(world_max),
                        int(len(tumour)), components, tuple(v.source for v in vols), reorient,
                        orientation(net_affine), resampled)


def _frame(g, dims, box_lo, box_hi, reorient):
    """ReferenceFrame.of: the grid the network grid is laid out on, the reference's voxel axes or (``ras``) those
    axes permuted and flipped as ``as_closest_canonical``; only indices change, no world position.

    :returns: (frame voxel (i, j, k) -> world affine as a list of 16, (z, y, x) spacing along the frame's (k, j, i),
        ROI box lower and upper corners in frame voxel coordinates (z, y, x))
    """
    s = spacing_zyx(g)[::-1]  # (x, y, z)
    if reorient == "none":
        return g, [s[2], s[1], s[0]], list(box_lo), list(box_hi)
    m = [0.0] * 16  # frame voxel -> reference voxel, (4, 4) row-major
    spacing, lo, hi = [0.0] * 3, [0.0] * 3, [0.0] * 3
    for o, (c, sign) in enumerate(closest_axes(g)):  # reference voxel axis o becomes frame axis c
        n = dims[2 - o]
        flip = sign < 0
        m[o * 4 + c] = -1.0 if flip else 1.0
        m[o * 4 + 3] = float(n - 1) if flip else 0.0
        spacing[2 - c] = s[o]
        lo[2 - c] = n - 1 - box_hi[2 - o] if flip else box_lo[2 - o]
        hi[2 - c] = n - 1 - box_lo[2 - o] if flip else box_hi[2 - o]
    m[15] = 1.0
    return multiply(g, m), spacing, lo, hi


def _overlap_fraction(v, n, affine):
    """Resampler.overlapFraction: share of at most 32 samples per axis of the grid inside the volume."""
    m = multiply(invert(as_list(v.affine)), affine)
    nz, ny, nx = n
    sz, sy, sx = min(nz, 32), min(ny, 32), min(nx, 32)

    def samples(count, length):
        if count == 1:
            return np.array([(length - 1) / 2.0])
        return np.array([a * (length - 1.0) / (count - 1) for a in range(count)])

    k = samples(sz, nz)[:, None, None]
    j = samples(sy, ny)[None, :, None]
    i = samples(sx, nx)[None, None, :]
    x = m[0] * i + m[1] * j + m[2] * k + m[3]
    y = m[4] * i + m[5] * j + m[6] * k + m[7]
    z = m[8] * i + m[9] * j + m[10] * k + m[11]
    vz, vy, vx = v.data.shape
    inside = _inside(x, vx) & _inside(y, vy) & _inside(z, vz)
    return int(inside.sum()) / float(sz * sy * sx)


def _inside(c, n):
    return (c >= -0.5) & (c <= n - 0.5)


def _trilinear(data, x, y, z, fill):
    """Resampler.Sampler.trilinear at continuous (x, y, z) = (i, j, k); float32 result like the engine's."""
    nz, ny, nx = data.shape
    flat = data.ravel()
    inside = _inside(x, nx) & _inside(y, ny) & _inside(z, nz)
    cx = np.clip(x, 0, nx - 1)
    cy = np.clip(y, 0, ny - 1)
    cz = np.clip(z, 0, nz - 1)
    x0 = cx.astype(np.int64)  # truncation = floor, the values are >= 0
    y0 = cy.astype(np.int64)
    z0 = cz.astype(np.int64)
    fx = cx - x0
    fy = cy - y0
    fz = cz - z0
    x1 = np.minimum(x0 + 1, nx - 1)
    y1 = np.minimum(y0 + 1, ny - 1)
    z1 = np.minimum(z0 + 1, nz - 1)
    r00 = (z0 * ny + y0) * nx
    r01 = (z0 * ny + y1) * nx
    r10 = (z1 * ny + y0) * nx
    r11 = (z1 * ny + y1) * nx

    def at(i):
        return flat[i].astype(np.float64)

    c00 = _lerp(at(r00 + x0), at(r00 + x1), fx)
    c01 = _lerp(at(r01 + x0), at(r01 + x1), fx)
    c10 = _lerp(at(r10 + x0), at(r10 + x1), fx)
    c11 = _lerp(at(r11 + x0), at(r11 + x1), fx)
    v = _lerp(_lerp(c00, c01, fy), _lerp(c10, c11, fy), fz).astype(np.float32)
    return np.where(inside, v, np.float32(fill))


def _lerp(a, b, t):
    return a + (b - a) * t


def _normalise(hu, config):
    """PreprocessingSpec.normalise: clip the float32 samples (widened to float64) to the window, then scale."""
    c = np.minimum(np.maximum(hu.astype(np.float64), config.hu_low), config.hu_high)
    if config.normalisation == "zscore":
        return ((c - config.mean) / config.std).astype(np.float32)
    return ((c - config.hu_low) / (config.hu_high - config.hu_low)).astype(np.float32)
