"""The version of gridgen (one place; read by the package and the cluster check)."""

__version__ = "0.1.0"
