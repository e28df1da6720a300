"""Import DICOM from files, folders, ZIP archives and DICOMDIR media into the study cache."""

from app.importer.run import import_paths
from app.importer.sources import ZipLimits, collect, dicomdir_references
from app.importer.summary import ImportCancelled, ImportSummary

__all__ = ["ImportCancelled", "ImportSummary", "ZipLimits", "collect", "dicomdir_references", "import_paths"]
