"""The documentation in docs/ is reachable from the README, its links resolve, and the
command-line page names every command."""

from __future__ import annotations

import re
from pathlib import Path

from gridgen_cli.main import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def local_links(page: Path) -> list[Path]:
    targets = LINK.findall(page.read_text(encoding="utf-8"))
    return [(page.parent / t).resolve() for t in targets if "://" not in t]


def test_the_readme_links_every_docs_page() -> None:
    linked = set(local_links(ROOT / "README.md"))
    pages = {p.resolve() for p in DOCS.glob("*.md")}
    assert {"architecture.md", "cli.md", "service.md", "data-model.md", "rules.md"} <= {
        p.name for p in pages
    }
    assert pages - {(DOCS / "README.md").resolve()} <= linked
    assert (DOCS / "README.md").resolve() in linked


def test_every_local_link_of_the_docs_resolves() -> None:
    broken = [
        (page.name, str(target))
        for page in [ROOT / "README.md", *DOCS.glob("*.md")]
        for target in local_links(page)
        if not target.exists()
    ]
    assert broken == []


def test_the_cli_page_names_every_command() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [name for name in SUBCOMMANDS if f"`gridgen {name}" not in text]
    assert missing == []


def test_no_page_sends_the_reader_to_a_design_file_outside_the_repository() -> None:
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        assert "shared/DESIGN" not in page.read_text(encoding="utf-8"), page.name
    for pkg in ("gridgen", "api", "maps", "gridgen_cli"):
        for source in (ROOT / pkg).rglob("*.py"):
            assert "DESIGN §" not in source.read_text(encoding="utf-8"), source
