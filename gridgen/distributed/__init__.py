"""Per-community work on a Dask cluster: the map, the halo subsets and the task functions."""
