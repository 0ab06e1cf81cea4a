"""What a radiologist runs on a finished run: ``cxr-cbir query``, ``cxr-cbir serve``."""
