"""The benches' one writer of bench/RESULTS.md sections keeps what others wrote."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("results_section", BENCH / "results_section.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


replaced_section = _writer().replaced_section

HEAD = "# Benchmark results\n\n## coverage\n\nold coverage figures\n\n"
REBALANCE = (
    "## rebalance\n\nrun on 2026-12-01, load 3.0\n\n"
    "### rebalance after a year of drift\n\n| a | 1 |\n\n"
    "### merge-grids of two lattices\n\n| b | 2 |\n\n"
)
THEIRS = (
    "### rbfill41, 2026-12-07 (sixth session)\n\nfilled: 31.7% (their figure)\n"
    "#### a detail\n\nkept too\n\n"
    "### rb30, 2026-12-07\n\n- rb30's line\n\n"
)
TAIL = "## unseen cities\n\ncity31 ...\n\n### recode, 2026-12-07 (sixth session)\n\nrecode's\n"
OLD = HEAD + REBALANCE + THEIRS + TAIL
NEW = (
    "## rebalance\n\nrun on 2026-12-08, load 1.0\n\n"
    "### rebalance after a year of drift\n\n| a | 9 |\n\n"
    "### merge-grids of two lattices\n\n| b | 8 |\n"
)


def test_rebalance_section_is_replaced_in_place_and_others_subsections_kept() -> None:
    out = replaced_section(OLD, NEW)
    # the section stays where it was, its other subsections follow it byte for byte, and
    # the sections before and after are untouched
    assert out == HEAD + NEW + "\n" + THEIRS + TAIL
    assert "| a | 1 |" not in out
    assert out.count("## rebalance\n") == 1


def test_writing_twice_gives_the_same_file() -> None:
    once = replaced_section(OLD, NEW)
    assert replaced_section(once, NEW) == once


def test_subsections_the_bench_owns_by_prefix_are_replaced_whatever_their_figures() -> None:
    old = (
        "## partition\n\nrun 1\n\n"
        "### `walled`: 272,309 households (built in 3.3 s)\n\n| v3 | 1 |\n\n"
        "### `filled`: 272,936 households (built in 2.6 s)\n\n| v3 | 2 |\n\n"
        "### proofroom, 2026-12-07 (seventh session)\n\ntheirs\n\n"
        "## partition engine v3 (issue 24): the targets, measured\n\ntargets\n"
    )
    new = (
        "## partition\n\nrun 2\n\n"
        "### `walled`: 272,309 households (built in 3.1 s)\n\n| v3 | 5 |\n\n"
        "### `filled`: 272,936 households (built in 2.4 s)\n\n| v3 | 6 |\n"
    )
    out = replaced_section(old, new, owns=["### `"])
    assert out == (
        new
        + "\n### proofroom, 2026-12-07 (seventh session)\n\ntheirs\n\n"
        + "## partition engine v3 (issue 24): the targets, measured\n\ntargets\n"
    )


def test_a_section_not_there_yet_is_appended() -> None:
    out = replaced_section(OLD, "## scale\n\nfigures\n")
    assert out == OLD + "\n## scale\n\nfigures\n"
    assert replaced_section("", "## scale\n\nfigures\n") == "## scale\n\nfigures\n"


def test_the_last_section_keeps_its_subsections() -> None:
    out = replaced_section(OLD, "## unseen cities\n\ncity31 again\n")
    assert out == HEAD + REBALANCE + THEIRS + (
        "## unseen cities\n\ncity31 again\n\n### recode, 2026-12-07 (sixth session)\n\nrecode's\n"
    )


def test_headings_inside_code_blocks_and_longer_titles_are_not_the_section() -> None:
    old = (
        "## partition engine v3\n\n```\n## partition\n### `x`\n```\n\n"
        "## partition\n\nold\n\n## tiles\n\nt\n"
    )
    out = replaced_section(old, "## partition\n\nnew\n")
    assert out == "## partition engine v3\n\n```\n## partition\n### `x`\n```\n\n" + (
        "## partition\n\nnew\n\n## tiles\n\nt\n"
    )


def test_a_section_must_start_with_its_heading() -> None:
    with pytest.raises(ValueError, match="'## ' heading"):
        replaced_section(OLD, "### rebalance\n")


def test_the_real_results_file_keeps_every_subsection_the_rebalance_bench_did_not_write() -> None:
    real = (BENCH / "RESULTS.md").read_text(encoding="utf-8")
    ours = {
        "### rebalance after a year of drift (+30% households in 10% of places, -50% in 3%)",
        "### merge-grids of two departments' lattices (600 m, and 450 m offset 225 m x 150 m)",
    }
    new = "## rebalance\n\nstub\n\n" + "".join(f"{h}\n\nstub\n\n" for h in sorted(ours))
    out = replaced_section(real, new)
    headings = re.findall(r"^#{2,3} .*$", real, flags=re.M)
    kept = [h for h in headings if h not in ours]
    assert [h for h in re.findall(r"^#{2,3} .*$", out, flags=re.M) if h not in ours] == kept
    # the sections before it are byte for byte the same
    start = real.index("\n## rebalance\n")
    assert out[:start] == real[:start]


def _writes_results_itself(tree: ast.Module) -> list[str]:
    """Return the lines where a bench writes or appends to a file by itself."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        target = ast.unparse(node.func.value)
        if "RESULTS" in target and node.func.attr in {"write_text", "open"}:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_every_bench_writes_results_through_the_shared_writer() -> None:
    writers = []
    for path in sorted(BENCH.glob("*.py")):
        if path.name == "results_section.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not _writes_results_itself(ast.parse(text)), path.name
        if re.search(r"^## |\"## ", text, flags=re.M):
            writers.append(path.stem)
            assert "from results_section import write_section" in text, path.name
    assert {"rebalance", "unseen", "partition", "barriers", "coverage", "editor"} <= set(writers)
