"""Volume rendering scene (VTK only): LPS-resampled copy, vtkSmartVolumeMapper, presets, clip box.

The volume is resampled (vtkImageReslice, shear and obliquity handled by the grid affine)
onto an axis-aligned LPS grid of at most ``max_voxels`` voxels: a software renderer stays
interactive and memory stays small next to the MPR volume. The camera looks from the
patient's front, head up (patient left on screen right).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401 - registers the volume mapper overrides
from vtkmodules.vtkCommonCore import vtkObject
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction, vtkPlane, vtkPlaneCollection
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice
from vtkmodules.vtkRenderingCore import vtkColorTransferFunction, vtkRenderer, vtkVolume, vtkVolumeProperty
from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

from app.dicom.geometry import VolumeGeometry
from app.viewer.mpr.geometry import RegularGrid, grid_affine, regular_grid
from app.viewer.mpr.reslice import wrap_volume
from app.viewer.mpr.vr_presets import PRESETS, resolve

#: Voxel budget of the rendered copy (about 160^3; 8 MB as int16) on a GPU.
VR_MAX_VOXELS = 4_000_000
#: Smaller budget for the CPU ray caster (also stores gradients: ~5 bytes per voxel).
VR_SOFTWARE_VOXELS = 1_500_000


def resample_lps(array: np.ndarray, geometry: VolumeGeometry, max_voxels: int = VR_MAX_VOXELS) -> tuple[vtkImageData, RegularGrid]:
    """The volume on an axis-aligned LPS grid (vtkImageData with LPS origin and spacing)."""
    grid = regular_grid(geometry, max_voxels=max_voxels)
    axes = np.eye(4)
    axes[:3, :3] = np.diag(grid.spacing)
    axes[:3, 3] = grid.origin
    m = np.linalg.inv(grid_affine(geometry)) @ axes
    matrix = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, float(m[r, c]))
    reslice = vtkImageReslice()
    reslice.SetInputData(wrap_volume(array))
    reslice.SetResliceAxes(matrix)
    reslice.SetOutputSpacing(1.0, 1.0, 1.0)
    reslice.SetOutputOrigin(0.0, 0.0, 0.0)
    reslice.SetOutputExtent(0, grid.size[0] - 1, 0, grid.size[1] - 1, 0, grid.size[2] - 1)
    reslice.SetInterpolationModeToLinear()
    reslice.SetBackgroundLevel(float(array.min()))
    reslice.SetEnableSMP(False)
    reslice.SetNumberOfThreads(os.cpu_count() or 1)
    reslice.Update()
    image = vtkImageData()
    image.ShallowCopy(reslice.GetOutput())
    image.SetOrigin(*grid.origin)
    image.SetSpacing(*grid.spacing)
    return image, grid


class VolumeScene:
    """A rendered volume in ``renderer``; ``software``: prefer the CPU ray caster."""

    def __init__(self, renderer: vtkRenderer, array: np.ndarray, geometry: VolumeGeometry, preset: str = "CT bone",
                 max_voxels: Optional[int] = None, software: bool = False) -> None:
        vtkObject.GlobalWarningDisplayOff()
        self.renderer = renderer
        max_voxels = max_voxels or (VR_SOFTWARE_VOXELS if software else VR_MAX_VOXELS)
        self.image, self.grid = resample_lps(array, geometry, max_voxels)
        from vtkmodules.util.numpy_support import vtk_to_numpy

        self._values = vtk_to_numpy(self.image.GetPointData().GetScalars())
        self.mapper = vtkSmartVolumeMapper()
        self.mapper.SetInputData(self.image)
        if software:
            self.mapper.SetRequestedRenderModeToRayCast()
        self.mapper.SetInteractiveAdjustSampleDistances(True)
        self.property = vtkVolumeProperty()
        self.property.SetInterpolationTypeToLinear()
        self.volume = vtkVolume()
        self.volume.SetMapper(self.mapper)
        self.volume.SetProperty(self.property)
        renderer.AddVolume(self.volume)
        renderer.SetBackground(0.0, 0.0, 0.0)
        self.preset = ""
        self.set_preset(preset)
        self.reset_camera()

    def set_preset(self, name: str) -> None:
        """Apply a preset of :data:`app.viewer.mpr.vr_presets.PRESETS`."""
        preset = PRESETS[name]
        colours, opacities = resolve(preset, self._values)
        ctf = vtkColorTransferFunction()
        for x, r, g, b in colours:
            ctf.AddRGBPoint(x, r, g, b)
        otf = vtkPiecewiseFunction()
        for x, a in opacities:
            otf.AddPoint(x, a)
        self.property.SetColor(ctf)
        self.property.SetScalarOpacity(otf)
        self.property.SetShade(preset.shade)
        self.property.SetAmbient(preset.ambient)
        self.property.SetDiffuse(preset.diffuse)
        self.property.SetSpecular(preset.specular)
        self.preset = name

    def bounds(self) -> tuple[float, ...]:
        return tuple(self.image.GetBounds())

    def set_clip_box(self, bounds: Optional[Sequence[float]]) -> None:
        """Keep only what lies inside (xmin, xmax, ymin, ymax, zmin, zmax) LPS; None: no clipping."""
        if bounds is None:
            self.mapper.RemoveAllClippingPlanes()
            return
        planes = vtkPlaneCollection()
        for axis in range(3):
            for side, sign in ((0, 1.0), (1, -1.0)):
                plane = vtkPlane()
                origin = [0.0, 0.0, 0.0]
                origin[axis] = float(bounds[2 * axis + side])
                normal = [0.0, 0.0, 0.0]
                normal[axis] = sign
                plane.SetOrigin(*origin)
                plane.SetNormal(*normal)
                planes.AddItem(plane)
        self.mapper.SetClippingPlanes(planes)

    def set_clip_planes(self, planes: vtkPlaneCollection) -> None:
        self.mapper.SetClippingPlanes(planes)

    def reset_camera(self) -> None:
        """Anterior view, head up."""
        b = self.bounds()
        centre = [(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2]
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(*centre)
        camera.SetPosition(centre[0], centre[1] - 1000.0, centre[2])
        camera.SetViewUp(0.0, 0.0, 1.0)
        self.renderer.ResetCamera()
        camera.Zoom(1.3)

    def release(self) -> None:
        self.renderer.RemoveVolume(self.volume)
        self.mapper.RemoveAllInputs()
