"""PyInstaller runtime hook: highdicom's DICOM-standard tables ship gzip-compressed in the bundle.

highdicom reads them with ``pkgutil.get_data("highdicom", "_standard/<name>.json")``; the bundle holds
``<name>.json.gz`` (22 MB of JSON -> about 1 MB), so that one call is wrapped to inflate them.
"""

import gzip
import pkgutil

_get_data = pkgutil.get_data


def _get_data_inflating(package, resource):
    if package == "highdicom" and resource.startswith("_standard/") and resource.endswith(".json"):
        return gzip.decompress(_get_data(package, resource + ".gz"))
    return _get_data(package, resource)


pkgutil.get_data = _get_data_inflating
