"""Progress display for long commands (rich when attached to a terminal, plain lines otherwise)."""

from __future__ import annotations

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

        def plain(done: int, total: int) -> None:
            pct = int(100 * done / total) if total else 100
            if pct // 25 != last[0] // 25 or done == total:
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
