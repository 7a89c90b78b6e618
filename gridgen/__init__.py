"""gridgen: community grid governance (网格化治理) geometry and algorithms.

Pure algorithms on validated GeoDataFrames; file and database I/O live in the ``io*``
modules. ``gridgen`` never imports ``api`` or ``maps``.
"""

from gridgen.dataset import Dataset

__all__ = ["Dataset"]
__version__ = "0.1.0"
