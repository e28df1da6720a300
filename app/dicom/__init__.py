"""DICOM parsing, validation and pixel access (no Qt, no VTK)."""
