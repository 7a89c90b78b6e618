"""The import graph and the size rules of the code (docs/architecture.md).

Built from the source with :mod:`ast` (nothing is imported): one node per module of
``gridgen``, ``maps``, ``api`` and ``gridgen_cli``, one edge per ``import`` statement
between them, wherever it stands (module level, inside a function, or under
``if TYPE_CHECKING:``: a type-only import is a dependency too, and may not close a cycle).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from functools import cache
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gridgen", "maps", "api", "gridgen_cli")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100
MAX_SCRIPT_LINES = 500
PAGE_SCRIPTS = ROOT / "maps" / "static"
"""Our page scripts (``maps/static/**/*.js``; ``vendor/`` holds the vendored libraries)."""
CLI_MAY_IMPORT_API = ("gridgen_cli.cmd_serve", "gridgen_cli.cmd_demo")
"""The only command modules that reach the service (to serve it, and to fill the demo's store)."""

# Functions and page scripts still over the limit, each with who splits it. The lead removes
# an entry when that work lands; an entry that is no longer over the limit fails the test.
LONG_FUNCTIONS: dict[str, str] = {
    # none left: every function of issue 19 §3 and of the codes module is split
}
LONG_SCRIPTS: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the modules of ``known`` that module ``name`` imports (type-only ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base]) if base else ".".join(up)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for target in targets:
            module = target
            while module and module not in known:
                module = module.rpartition(".")[0]
            if module and module != name:
                out.add(module)
    return out


@cache
def import_graph() -> nx.DiGraph:
    found = modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(found)
    for name, path in found.items():
        for target in imports_of(name, path, set(found)):
            graph.add_edge(name, target)
    return graph


def type_checking_imports() -> int:
    """Return how many ``if TYPE_CHECKING:`` blocks import one of our modules."""
    count = 0
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _is_type_checking(node):
                names = [
                    n.module or ""
                    for stmt in node.body  # type: ignore[attr-defined]
                    for n in ast.walk(stmt)
                    if isinstance(n, ast.ImportFrom)
                ]
                count += any(m.split(".")[0] in PACKAGES for m in names)
    return count


def test_the_import_graph_has_no_cycle_counting_type_only_imports() -> None:
    graph = import_graph()
    assert graph.number_of_edges() > 200  # the graph really was built
    assert type_checking_imports() > 0  # and type-only imports are in it (api.guard's)
    assert graph.has_edge("api.guard", "api.service")  # one of them, under TYPE_CHECKING
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles[:5]}"


def test_a_type_only_import_is_an_edge(tmp_path: Path) -> None:
    probe = tmp_path / "x.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from gridgen.partition.plan import Plan\n",
        encoding="utf-8",
    )
    found = imports_of("gridgen.x", probe, {"gridgen.x", "gridgen.partition.plan"})
    assert found == {"gridgen.partition.plan"}


def test_gridgen_never_imports_api_maps_or_the_cli() -> None:
    graph = import_graph()
    bad = [
        (a, b)
        for a, b in graph.edges
        if a.split(".")[0] == "gridgen" and b.split(".")[0] in ("api", "maps", "gridgen_cli")
    ]
    assert bad == []
    # and maps (drawing) does not reach the service or the command line either
    assert [
        (a, b)
        for a, b in graph.edges
        if a.startswith("maps") and b.split(".")[0] in ("api", "gridgen_cli")
    ] == []


def test_the_cli_imports_the_service_only_to_serve_it_or_fill_the_demo_store() -> None:
    graph = import_graph()
    bad = sorted(
        (a, b)
        for a, b in graph.edges
        if a.split(".")[0] == "gridgen_cli"
        and b.split(".")[0] == "api"
        and a not in CLI_MAY_IMPORT_API
    )
    assert bad == [], f"gridgen_cli modules importing api: {bad}"
    assert graph.has_edge("gridgen_cli.cmd_serve", "api.app")  # the check sees real imports


def test_modules_stay_under_the_size_limit() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: {long}"


def function_lengths() -> dict[str, int]:
    """Return the length in lines (decorators included) of every function and method."""
    out: dict[str, int] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for child in node.body:
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                        child.name = f"{node.name}.{child.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                key = f"{name}.{node.name}"
                out[key] = max(out.get(key, 0), node.end_lineno - start + 1)
    return out


def test_functions_fit_on_a_screen() -> None:
    lengths = function_lengths()
    assert len(lengths) > 1000  # every function was measured
    long = {f: n for f, n in lengths.items() if n > MAX_FUNCTION_LINES and f not in LONG_FUNCTIONS}
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
    done = [f for f in LONG_FUNCTIONS if lengths.get(f, 0) <= MAX_FUNCTION_LINES]
    assert done == [], f"split already: remove from LONG_FUNCTIONS: {done}"


def page_scripts() -> dict[str, int]:
    return {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PAGE_SCRIPTS.rglob("*.js")
        if "vendor" not in p.relative_to(PAGE_SCRIPTS).parts
    }


def test_page_scripts_stay_under_the_size_limit() -> None:
    scripts = page_scripts()
    assert "maps/static/viewer/viewer.js" in scripts or len(scripts) > 3  # they were found
    long = {s: n for s, n in scripts.items() if n > MAX_SCRIPT_LINES and s not in LONG_SCRIPTS}
    assert long == {}, f"page scripts over {MAX_SCRIPT_LINES} lines: {long}"
    done = [s for s in LONG_SCRIPTS if scripts.get(s, 0) <= MAX_SCRIPT_LINES]
    assert done == [], f"split already: remove from LONG_SCRIPTS: {done}"


def test_the_public_api_is_what_gridgen_exports() -> None:
    gridgen = importlib.import_module("gridgen")
    assert len(gridgen.__all__) == len(set(gridgen.__all__))
    missing = [name for name in gridgen.__all__ if not hasattr(gridgen, name)]
    assert missing == []
    for entry in ("partition_dataset", "audit_grids", "rebalance", "station_coverage"):
        assert entry in gridgen.__all__ and callable(getattr(gridgen, entry))
    assert "governance_figures" in gridgen.__all__ and "RuleKind" in gridgen.__all__


def test_import_gridgen_loads_no_stack_until_a_name_is_used() -> None:
    """``import gridgen`` (and so every command line) starts without the coverage, merge and
    rebalance stacks; each public name is its module's object once used."""
    code = (
        "import sys, gridgen\n"
        "before = sorted(m for m in sys.modules if m.startswith('gridgen.'))\n"
        "from gridgen.partition.rebalance import rebalance\n"
        "from gridgen.coverage.stations import DEFAULT_RADIUS_M\n"
        "print(before, gridgen.rebalance is rebalance,"
        " gridgen.DEFAULT_RADIUS_M == DEFAULT_RADIUS_M,"
        " set(gridgen.__all__) <= set(dir(gridgen)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] True True True"
