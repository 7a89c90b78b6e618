"""The generated sample district and synthetic cities (data shipped in ``data/``)."""
