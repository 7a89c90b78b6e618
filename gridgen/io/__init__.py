"""Readers, writers and coordinate systems (the only file I/O in gridgen)."""
