"""Synthetic demo archive: procedural chest-radiograph phantoms in MIMIC-CXR-JPG layout."""
