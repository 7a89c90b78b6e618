"""Progress display for long commands (rich when attached to a terminal, plain lines otherwise).

Plain lines read ``  DESCRIPTION: DONE/TOTAL`` on standard error, one every 25 % of the work
by default; ``GRIDGEN_PROGRESS_STEP=N`` (a whole percent, 1-100) prints one every N % instead,
for programs that turn the lines into a progress bar (the QGIS plugin sets it to 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ProgressFn = Callable[[int, int], None]

console = Console(stderr=True)


@contextmanager
def progress_task(description: str) -> Iterator[ProgressFn]:
    """Yield a ``progress(done, total)`` callback that drives one progress bar."""
    if not sys.stderr.isatty():
        last = [-1]
        step = plain_step()

        def plain(done: int, total: int) -> None:
            pct = int(100 * done / total) if total else 100
            if pct // step != last[0] // step or done == total:
                last[0] = pct
                print(f"  {description}: {done}/{total}", file=sys.stderr, flush=True)

        yield plain
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def plain_step() -> int:
    """Return the percent step of plain progress lines (``GRIDGEN_PROGRESS_STEP``, default 25).

    A value that is not a whole number from 1 to 100 falls back to 25: progress display
    never stops a command.
    """
    text = os.environ.get("GRIDGEN_PROGRESS_STEP", "").strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 100 else 25
