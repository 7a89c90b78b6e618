"""One writer of ``bench/RESULTS.md`` sections for every benchmark.

A bench writes one ``## name`` section: its heading, a few lines, and sometimes
``### subsections`` of its own (a table per city). Other people add their own ``###``
subsections under the same heading (a helper's figures). :func:`replaced_section` replaces
only what the bench wrote: the section's lead (from the ``## name`` heading to its first
``###`` heading) and the subsections whose heading the bench owns. Every other heading,
subsection and byte of the file stays as it was, the section stays in its place, and a
section that is not there yet is appended at the end.

Headings are markdown ATX lines (``## `` / ``### ``) outside fenced code blocks; a
``####`` heading belongs to the subsection above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def _heading_level(line: str) -> int:
    """Return 2 for a ``## `` line, 3 for a ``### `` line, 0 otherwise."""
    if line.startswith("## "):
        return 2
    if line.startswith("### "):
        return 3
    return 0


def chunks(text: str) -> list[str]:
    """Return ``text`` cut before every ``##``/``###`` heading (joined, they give ``text``)."""
    out: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and _heading_level(line) and current:
            out.append("".join(current))
            current = []
        current.append(line)
    if current:
        out.append("".join(current))
    return out


def _title(chunk: str) -> str:
    """Return the heading line of a chunk, without its end of line."""
    return chunk.split("\n", 1)[0].rstrip("\r")


def replaced_section(old: str, section: str, *, owns: Iterable[str] | None = None) -> str:
    """Return ``old`` with the bench's part of one ``## `` section replaced by ``section``.

    Parameters
    ----------
    old
        The whole markdown file as it is.
    section
        What the bench writes: starts with its ``## name`` heading line.
    owns
        Prefixes of the ``### `` headings the bench writes (a subsection of the file whose
        heading starts with one of them is the bench's and is replaced); by default the
        ``### `` heading lines found in ``section`` itself.

    Returns
    -------
    str
        The file with the section's lead and the bench's own subsections replaced by
        ``section`` at the place of the first ``## name`` heading, every other subsection
        of it kept after ``section`` in its order, and everything else unchanged; the file
        with ``section`` appended when it has no ``## name`` heading.
    """
    heading = _title(section)
    if _heading_level(heading) != 2:
        msg = f"a bench section must start with a '## ' heading, not {heading!r}"
        raise ValueError(msg)
    new = chunks(section)
    prefixes = tuple(owns) if owns is not None else tuple(_title(c) for c in new[1:])
    parts = chunks(old)
    start = next((i for i, c in enumerate(parts) if _title(c) == heading), None)
    if start is None:
        body = old.rstrip("\n")
        return (body + "\n\n" if body else "") + section.rstrip("\n") + "\n"
    end = next(
        (i for i in range(start + 1, len(parts)) if _heading_level(_title(parts[i])) == 2),
        len(parts),
    )
    kept = [c for c in parts[start + 1 : end] if not _title(c).startswith(prefixes)]
    rest = kept + parts[end:]
    text = section.rstrip("\n") + ("\n\n" if rest else "\n")
    return "".join(parts[:start]) + text + "".join(rest)


def write_section(section: str, *, path: Path = RESULTS, owns: Iterable[str] | None = None) -> None:
    """Write ``section`` into the markdown file ``path`` (see :func:`replaced_section`)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(replaced_section(old, section, owns=owns), encoding="utf-8")
