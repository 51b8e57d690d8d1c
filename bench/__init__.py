"""archbench: benchmark and compare small image-classification architectures in PyTorch."""

__version__ = "0.1.0"
