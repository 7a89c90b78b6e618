"""gridgen_cli package."""
