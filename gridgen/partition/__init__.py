"""Grid partitioning: planning units, balanced regions, the plan value and planner edits."""
