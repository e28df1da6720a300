"""vtkImageReslice of the MPR planes into numpy (VTK only, no Qt; main thread).

The volume is wrapped zero-copy as a vtkImageData in *index* space (origin 0, spacing 1) and
each view's reslice axes map output pixels straight to voxel indices through
:func:`app.viewer.mpr.geometry.grid_affine`, so oblique, sheared (gantry-tilted) and
non-axial acquisitions need no resampled copy. One vtkImageReslice per view keeps each
view's output buffer; :meth:`VolumeReslicer.reslice` returns a numpy view of it.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice

from app.viewer.mpr.planes import PlaneGrid

_SLAB = {"mip": "SetSlabModeToMax", "minip": "SetSlabModeToMin", "mean": "SetSlabModeToMean"}


def wrap_volume(array: np.ndarray) -> vtkImageData:
    """(z, y, x) C-contiguous array as vtkImageData in index space, sharing the memory."""
    if not array.flags.c_contiguous:
        raise ValueError("the volume must be C-contiguous to be shared with VTK")
    image = vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    image.SetSpacing(1.0, 1.0, 1.0)
    image.SetOrigin(0.0, 0.0, 0.0)
    scalars = numpy_to_vtk(array.reshape(-1), deep=False)
    scalars._numpy_ref = array  # keep the numpy owner alive as long as VTK uses the buffer
    image.GetPointData().SetScalars(scalars)
    return image


def reslice_matrix(affine: np.ndarray, grid: PlaneGrid, slab_spacing: float = 1.0) -> np.ndarray:
    """4x4 mapping output (col, row, slab, 1) to voxel index (i, j, k, 1)."""
    plane = np.eye(4)
    normal = np.cross(grid.du, grid.dv)
    normal /= np.linalg.norm(normal)
    plane[:3, 0], plane[:3, 1] = grid.du, grid.dv
    plane[:3, 2] = normal * (slab_spacing if slab_spacing > 0 else 1.0)
    plane[:3, 3] = grid.origin
    return np.linalg.inv(affine) @ plane


class VolumeReslicer:
    """Reslices one shared volume for several views (keys), each with its own output."""

    def __init__(self, array: np.ndarray, affine: np.ndarray, background: Optional[float] = None,
                 threads: Optional[int] = None) -> None:
        self.array = array
        self.affine = np.asarray(affine, float)
        self.image = wrap_volume(array)
        self.background = float(array.min()) if background is None else float(background)
        self.threads = threads or os.cpu_count() or 1
        self._reslicers: dict[str, vtkImageReslice] = {}
        self._matrix = vtkMatrix4x4()

    def _reslicer(self, key: str) -> vtkImageReslice:
        r = self._reslicers.get(key)
        if r is None:
            r = vtkImageReslice()
            r.SetInputData(self.image)
            r.SetOutputDimensionality(2)
            r.SetBackgroundLevel(self.background)
            r.SetOutputSpacing(1.0, 1.0, 1.0)
            r.SetOutputOrigin(0.0, 0.0, 0.0)
            r.SetEnableSMP(False)  # the pip wheel's SMP backend is sequential: use classic threads
            r.SetNumberOfThreads(self.threads)
            r.AutoCropOutputOff()
            self._reslicers[key] = r
        return r

    def reslice(self, key: str, grid: PlaneGrid, *, slab: tuple[int, float] = (1, 0.0), mode: str = "none",
                linear: bool = True) -> np.ndarray:
        """(height, width) modality values of ``grid``; valid until the next call for ``key``."""
        r = self._reslicer(key)
        count, spacing = slab if mode != "none" else (1, 0.0)
        m = reslice_matrix(self.affine, grid, spacing)
        for row in range(4):
            for col in range(4):
                self._matrix.SetElement(row, col, float(m[row, col]))
        r.SetResliceAxes(self._matrix)
        r.SetOutputExtent(0, grid.width - 1, 0, grid.height - 1, 0, 0)
        if linear:
            r.SetInterpolationModeToLinear()
        else:
            r.SetInterpolationModeToNearestNeighbor()
        r.SetSlabNumberOfSlices(max(1, int(count)))
        if count > 1:
            getattr(r, _SLAB[mode])()
        r.Modified()
        r.Update()
        out = r.GetOutput()
        return vtk_to_numpy(out.GetPointData().GetScalars()).reshape(grid.height, grid.width)

    def release(self) -> None:
        """Drop the VTK objects (the numpy volume stays with its owner)."""
        for r in self._reslicers.values():
            r.RemoveAllInputs()
        self._reslicers.clear()
        self.image = None  # type: ignore[assignment]
