"""The tumour mask as the renal-mtl engine reads it: which voxels are the tumour (loader/.../MaskRegion.java,
MaskSelection.java, ConnectedComponents.java) and, for a mask on another grid than the reference phase, its
nearest-neighbour resampling onto that phase (Preprocessor.regionOnReference, Resampler.java), with the engine's
float64 arithmetic so that :mod:`renal_mtl.preprocess` reproduces the engine's ROI exactly.

Needs numpy, scipy for the largest-component selection; imports only :mod:`renal_mtl.volume` from this package.
"""

import numpy as np

from .volume import PreprocessingError, Volume, as_list, invert, multiply, spacing_zyx, to_world

# Reference slices resampled per step: bounds the float64 temporaries (about 8 arrays of slices × Y × X).
_SLAB = 8


def tumour_on_reference(mask, ref, label):
    """The tumour voxels in the reference phase's voxel indices.

    :returns: ((n, 3) (z, y, x) indices, component count, whether the mask was resampled)
    """
    if same_grid(mask, ref):
        return select(mask, label) + (False,)
    m_min, m_max = world_box(mask.affine, mask.data.shape)
    r_min, r_max = world_box(ref.affine, ref.data.shape)
    if any(m_max[a] <= r_min[a] or r_max[a] <= m_min[a] for a in range(3)):
        raise PreprocessingError(
            "%s: mask does not overlap reference phase %s (mask grid world box %s..%s mm, phase %s..%s mm): is it "
            "the mask of another scan?" % (mask.source, ref.source, _fmt(m_min), _fmt(m_max), _fmt(r_min),
                                           _fmt(r_max)))
    on_ref = resample_nearest(mask, ref)
    v = on_ref.data
    chosen = (v < np.float32(-0.5)) | (v >= np.float32(0.5)) if label == 0 else \
        (v >= np.float32(label - 0.5)) & (v < np.float32(label + 0.5))  # MaskSelection.selects
    if not chosen.any():
        select(mask, label)  # an empty or negative mask is reported as such
        raise PreprocessingError(
            "%s: mask is on another grid than reference phase %s, and its voxels with %s all lie outside that "
            "phase's scan" % (mask.source, ref.source, "a non-zero label" if label == 0 else "label %d" % label))
    return select(on_ref, label) + (True,)


def resample_nearest(src, like):
    """Resampler.resampleLike(src, like, NEAREST, 0): src's value at the voxel nearest each of like's voxel centres
    in world coordinates, 0 more than half a voxel outside src's grid."""
    m = multiply(invert(as_list(src.affine)), as_list(like.affine))  # like voxel -> src voxel
    nz, ny, nx = like.data.shape
    sz, sy, sx = src.data.shape
    flat = src.data.ravel()
    out = np.empty((nz, ny, nx), dtype=np.float32)
    js = np.arange(ny, dtype=np.float64)[None, :, None]
    iis = np.arange(nx, dtype=np.float64)[None, None, :]
    for k0 in range(0, nz, _SLAB):
        ks = np.arange(k0, min(k0 + _SLAB, nz), dtype=np.float64)[:, None, None]
        # Same association as the engine: (m1·j + m2·k + m3) per row, then + m0·i.
        x = (m[1] * js + m[2] * ks + m[3]) + m[0] * iis
        y = (m[5] * js + m[6] * ks + m[7]) + m[4] * iis
        z = (m[9] * js + m[10] * ks + m[11]) + m[8] * iis
        inside = _inside(x, sx) & _inside(y, sy) & _inside(z, sz)
        i = np.clip(np.floor(x + 0.5), 0, sx - 1).astype(np.int64)
        j = np.clip(np.floor(y + 0.5), 0, sy - 1).astype(np.int64)
        k = np.clip(np.floor(z + 0.5), 0, sz - 1).astype(np.int64)
        out[k0:k0 + len(ks)] = np.where(inside, flat[(k * sy + j) * sx + i], np.float32(0))
    return Volume(out, np.array(like.affine, dtype=np.float64), src.source + " (resampled)")


def same_grid(a, b):
    """Volume.sameGrid: same dimensions, 8 corner voxel centres within 1% of a's smallest voxel size."""
    if a.data.shape != b.data.shape:
        return False
    nz, ny, nx = a.data.shape
    aa, ba = as_list(a.affine), as_list(b.affine)
    s = spacing_zyx(aa)
    tol = 0.01 * min(s[2], min(s[1], s[0]))
    for c in range(8):
        ijk = (nx - 1 if c & 1 else 0, ny - 1 if c & 2 else 0, nz - 1 if c & 4 else 0)
        wa, wb = to_world(aa, *ijk), to_world(ba, *ijk)
        if not all(abs(wa[d] - wb[d]) <= tol for d in range(3)):
            return False
    return True


def select(mask, label):
    """MaskRegion.select: the (n, 3) (z, y, x) indices of the tumour voxels and the component count."""
    v = mask.data  # (Z, Y, X) float32
    neg = v < np.float32(-0.5)
    if neg.any():
        z, y, x = np.argwhere(neg)[0]
        raise PreprocessingError("%s: not a label mask: voxel (z, y, x) = (%d, %d, %d) holds %r, and labels are "
                                 "never negative (is this an image?)" % (mask.source, z, y, x, float(v[z, y, x])))
    if label == 0:
        fg = v >= np.float32(0.5)
    else:
        fg = (v >= np.float32(label - 0.5)) & (v < np.float32(label + 0.5))
    if not fg.any():
        raise PreprocessingError("%s: mask is empty (no voxel with %s)"
                                 % (mask.source, "a non-zero label" if label == 0 else "label %d" % label))
    if label != 0:
        return np.argwhere(fg), 1
    from scipy import ndimage

    labels, count = ndimage.label(fg, structure=np.ones((3, 3, 3), dtype=bool))  # 26-connectivity
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    ids = flat[where]
    sizes = np.bincount(ids, minlength=count + 1)[1:]
    first = np.full(count, flat.size, dtype=np.int64)
    np.minimum.at(first, ids - 1, where)  # each component's first voxel in scan order
    # Largest; among equal sizes the one met first in scan order (ConnectedComponents.largest).
    best = min(range(count), key=lambda c: (-sizes[c], first[c])) + 1
    return np.argwhere(labels == best), int(count)


def world_box(affine, shape_zyx):
    """Preprocessor.worldBox: the world-axis-aligned box (min, max) around a grid's voxels (edges -0.5 .. n - 0.5),
    (x, y, z) mm."""
    a = as_list(affine)
    nz, ny, nx = shape_zyx
    lo, hi = [float("inf")] * 3, [float("-inf")] * 3
    for c in range(8):
        w = to_world(a, nx - 0.5 if c & 1 else -0.5, ny - 0.5 if c & 2 else -0.5, nz - 0.5 if c & 4 else -0.5)
        for d in range(3):
            lo[d], hi[d] = min(lo[d], w[d]), max(hi[d], w[d])
    return lo, hi


def _inside(c, n):
    return (c >= -0.5) & (c <= n - 0.5)


def _fmt(v):
    return "(%.1f, %.1f, %.1f)" % tuple(v)
