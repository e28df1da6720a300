"""3D multiplanar reformat (MPR), thick slabs and volume rendering.

Qt-free, VTK-free core (importable by core tests): ``geometry`` (voxel <-> LPS, gantry tilt),
``planes`` (plane frames, crosshair, oblique rotation, labels), ``sampling`` (numpy reference
resampler), ``state`` (the MPR layout state), ``vr_presets`` (transfer functions), ``loader``
(cache series -> volume). VTK only: ``reslice`` (vtkImageReslice into numpy), ``volume_scene``
(vtkSmartVolumeMapper scene), ``headless`` (PNG without a display). Qt + VTK: ``plane_view``,
``volume_view`` and ``mpr_widget`` (the layout). See ``app.viewer.gl_probe`` for the OpenGL probe.
"""
