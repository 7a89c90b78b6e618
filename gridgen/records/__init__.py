"""Grid records a district files: change orders (变更单), the conformance audit against the
grid standards, grid attributes from the offices' sheets, and nesting of departments'
zones in the base grids (多网合一)."""
