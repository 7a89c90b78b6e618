"""What a gridgen algorithm is, as plain data: its parameters, its command line, its results.

Pure Python (no ``qgis`` import), so that the table of algorithms (:mod:`.catalogue`) and
the command line it builds are checked against ``gridgen``'s own parser in gridgen's test
suite, outside QGIS. :mod:`.algorithm` turns a :class:`AlgorithmSpec` into a QGIS
Processing algorithm.

Runs on the Python that QGIS ships (3.9 and later): no syntax newer than 3.9 at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = (
    "dataset",  # the gridgen dataset: a GeoPackage, GeoJSON folder, zipped Shapefile or CSV
    "file",  # an input file of gridgen's own (a plan GeoPackage, an earlier dataset)
    "grids",  # a polygon layer: a file as is, a layer loaded in QGIS via a temporary GeoPackage
    "grids_many",  # several polygon layers, the option repeated
    "points",  # a point layer, like "grids"
    "layer",  # any vector layer, like "grids"; any file on disk is passed as it is
    "int",
    "float",
    "enum",  # choices: the command line's values; "" means "leave the option out"
    "bool",  # a switch: the option given alone when true
    "crs",  # an EPSG (or WKT) coordinate system
    "date",  # a day, as YYYY-MM-DD
    "string",
    "lines",  # several texts, one per line: the option repeated (--map A=B --map C=D)
    "field",  # a field of the layer named by ``parent``
    "output",  # a file the command writes
)


REPEATED = ("grids_many", "lines")
"""Kinds whose value is a list, the option given once per item."""


@dataclass(frozen=True)
class Text:
    """A text in Chinese and English."""

    zh: str
    en: str

    def pick(self, chinese_first: bool) -> str:
        """Return both languages, the user's first (one of them when they are equal)."""
        if self.zh == self.en:
            return self.en
        return f"{self.zh} · {self.en}" if chinese_first else f"{self.en} · {self.zh}"


@dataclass(frozen=True)
class Param:
    """One Processing parameter and the command-line option it becomes.

    Parameters sharing a ``flag`` are combined: ``combine="join"`` joins their values with
    a comma (``--band MIN,MAX``, all or none of them given), ``combine="last"`` takes the
    last one given (a Chinese datum, GCJ-02 or BD-09, over an EPSG code for ``--crs``).
    """

    name: str
    kind: str
    label: Text
    flag: str = ""  # "" = positional
    default: Any = None
    optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    choice_labels: tuple[Text, ...] = ()
    suffixes: tuple[str, ...] = ()
    advanced: bool = False
    parent: str = ""
    combine: str = "join"
    load: bool = False  # an output GeoPackage whose layers are loaded into the project
    temporary: bool = False  # an optional output written to a temporary file when unset

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"parameter {self.name}: unknown kind {self.kind!r}"
            raise ValueError(msg)
        if self.kind == "enum" and len(self.choices) != len(self.choice_labels):
            msg = f"parameter {self.name}: one label per choice"
            raise ValueError(msg)


@dataclass(frozen=True)
class Result:
    """A value the algorithm returns besides its output files.

    ``kind`` is ``layer`` (``source``'s layer ``key``, as ``path|layername=key``),
    ``number`` (``key`` read from the JSON ``reader`` finds in ``source``: a dotted path)
    or ``input`` (the value given for parameter ``source``, passed on for a model's next
    step).
    """

    name: str
    kind: str
    label: Text
    source: str
    key: str = ""
    reader: str = "json"


@dataclass(frozen=True)
class AlgorithmSpec:
    """One ``gridgen`` subcommand as a Processing algorithm."""

    name: str  # the algorithm id (gridgen:NAME)
    command: str  # the gridgen subcommand
    title: Text
    group: str  # a key of GROUPS
    help: Text
    params: tuple[Param, ...]
    results: tuple[Result, ...] = ()
    ok_statuses: tuple[int, ...] = (0,)  # exit statuses that are a success
    needs_one_of: tuple[tuple[str, ...], ...] = ()  # exactly one of these must be given
    extra_args: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        """Return the parameter called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


GROUPS: Mapping[str, Text] = {
    "data": Text("数据", "Data"),
    "grids": Text("网格", "Grids"),
    "coverage": Text("服务覆盖", "Coverage and siting"),
    "reports": Text("报表与图件", "Reports and maps"),
}
"""Group id → its name."""


class CommandLineError(ValueError):
    """Parameter values that make no command line (told to the user as the reason)."""


def command_line(spec: AlgorithmSpec, values: Mapping[str, Any]) -> list[str]:
    """Return the arguments after ``gridgen`` for ``values`` (parameter name → CLI text).

    ``values`` holds the text of every parameter given (``None`` or absent: not given); a
    ``bool`` is given when true; ``grids_many`` and ``lines`` take a list (the option is
    repeated once per item).

    Raises
    ------
    CommandLineError
        When only part of a joined option is given, or ``needs_one_of`` is not met.
    """
    for names in spec.needs_one_of:
        given = [n for n in names if _given(values.get(n))]
        if len(given) != 1:
            msg = f"give exactly one of {', '.join(names)} (given: {', '.join(given) or 'none'})"
            raise CommandLineError(msg)
    args = [spec.command]
    positional = [p for p in spec.params if not p.flag and _given(values.get(p.name))]
    args += [str(values[p.name]) for p in positional]
    done: set[str] = set()
    for p in spec.params:
        if not p.flag or p.flag in done:
            continue
        done.add(p.flag)
        args += _option(p.flag, [q for q in spec.params if q.flag == p.flag], values)
    return [*args, *spec.extra_args]


def _given(value: Any) -> bool:
    if value is None or value is False:
        return False
    return not (isinstance(value, (str, list, tuple)) and len(value) == 0)


def _option(flag: str, params: Sequence[Param], values: Mapping[str, Any]) -> list[str]:
    """Return the arguments of one option from the parameters that share it."""
    given = [p for p in params if _given(values.get(p.name))]
    if not given:
        return []
    first = given[0]
    if first.kind == "bool":
        return [flag]
    if first.kind in REPEATED:
        out: list[str] = []
        for item in values[first.name]:
            out += [flag, str(item)]
        return out
    if len(params) == 1 or first.combine == "last":
        return [flag, str(values[given[-1].name])]
    if len(given) != len(params):
        missing = [p.name for p in params if p not in given]
        msg = (
            f"give {' and '.join(p.name for p in params)} together "
            f"(missing {', '.join(missing)}), or neither"
        )
        raise CommandLineError(msg)
    return [flag, ",".join(str(values[p.name]) for p in params)]


def number_text(value: float) -> str:
    """Return a number as the command line wants it (whole numbers without ``.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parameter_hint(spec: AlgorithmSpec, message: str) -> str:
    """Return ``" [--band = BAND_MIN, BAND_MAX]"`` for the options ``message`` names (or "").

    gridgen's messages name its command-line options; the hint tells a QGIS user which
    parameters those are.
    """
    flags: dict[str, list[str]] = {}
    for p in spec.params:
        if p.flag:
            flags.setdefault(p.flag, []).append(p.name)
    named = [
        f"{flag} = {', '.join(names)}"
        for flag, names in flags.items()
        if re.search(rf"{re.escape(flag)}(?![\w-])", message)
    ]
    return f" [{'; '.join(named)}]" if named else ""
