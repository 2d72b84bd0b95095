"""podnet: the Kubernetes networking model, built for real on Linux, in Python."""

__version__ = "0.1.0"
