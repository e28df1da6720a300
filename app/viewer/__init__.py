"""Diagnostic 2D viewer.

Qt-free, VTK-free model modules (importable by core tests): ``transform``, ``state``,
``display``, ``series_data``, ``annotations``, ``measurements``, ``interaction``, ``sync``,
``layout``, ``gsps``, ``seg``, ``slab`` (thick-slab MIP/MinIP/average), ``hang`` (a study's
hanging plan by the rules of app.hanging; ``hanging_view`` applies it to the widget).
VTK/Qt modules: ``scene_view`` (VTK only, also used headless), ``offscreen_view`` (headless
rendering), ``viewport_widget`` and ``viewer_widget`` (Qt).
"""
