"""One vocabulary of rule kinds (gridgen.rules): documented, and read from older plans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgen.partition.plan import Problem
from gridgen.rules import RULE_LABELS, RULE_SOURCES, RuleKind, rule_kind

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_rule_rows() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Rule kinds", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|", section, flags=re.MULTILINE)
    return {kind: (label.strip(), found.strip()) for kind, label, found in rows}


def test_the_readme_lists_every_rule_kind_with_its_label_and_sources() -> None:
    rows = readme_rule_rows()
    assert set(rows) == {k.value for k in RuleKind}
    for kind in RuleKind:
        assert rows[kind.value] == (RULE_LABELS[kind], ", ".join(RULE_SOURCES[kind]))
        assert kind.label == RULE_LABELS[kind]


def test_names_saved_by_earlier_versions_are_read_as_the_rule_they_meant() -> None:
    assert rule_kind("not_contiguous") is RuleKind.MULTIPART
    assert rule_kind("contiguity_broken") is RuleKind.MULTIPART
    assert rule_kind("compound_split") is RuleKind.SPLIT_COMPOUND
    assert rule_kind("unassigned") is RuleKind.UNASSIGNED_BUILDING
    problem = Problem(**{"kind": "grid_emptied", "community_id": "C1", "reason": "r"})
    assert problem.kind is RuleKind.EMPTY_GRID and problem.kind == "empty_grid"
    with pytest.raises(ValueError, match="no_such_rule"):
        Problem("no_such_rule", "C1", "r")


def test_a_plan_file_with_an_unknown_rule_kind_is_refused_naming_it(tmp_path: Path) -> None:
    import json

    import pyogrio
    from partition_helpers import row_of_compounds

    from gridgen.errors import SchemaError
    from gridgen.io.plan import read_plan, write_plan
    from gridgen.partition.community import partition_community

    path = write_plan(partition_community(row_of_compounds([150] * 2), "C1"), tmp_path / "p.gpkg")
    meta = pyogrio.read_dataframe(path, layer="plan_meta")
    meta["problems"] = json.dumps([{"kind": "odd_rule", "community_id": "C1", "reason": "?"}])
    pyogrio.write_dataframe(meta, path, layer="plan_meta")
    with pytest.raises(SchemaError, match=r"p\.gpkg.*problems.*odd_rule"):
        read_plan(path)
