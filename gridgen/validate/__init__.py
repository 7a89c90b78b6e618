"""Validation of raw layers into a Dataset, with a report that accounts for every row."""
