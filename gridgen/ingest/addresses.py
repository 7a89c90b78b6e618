"""Address normalisation and parsing for ledgers (一标三实 standard addresses).

Ledgers write the same building many ways: 3号楼 / 3栋 / 3幢 / 三号楼 / ３号楼 / 3#楼 / 3#,
compound names with or without 小区, full-width digits, stray spaces. Everything here maps
those to one key:

- :func:`folded_text`: NFKC (full-width → half-width), no whitespace, Chinese numerals as
  digits (三 → 3, 十二 → 12, 一百零五 → 105, 一〇五 → 105, 叁拾 → 30);
- :func:`compound_key`: a compound name without its optional 小区 suffix;
- :func:`building_key`: the building number of 3号楼 / 3栋 / A座 / 3-1幢 / 3# (``3``, ``A``,
  ``3-1``);
- :func:`room_key`: ``unit-room`` from 单元 and 房号 (``2-501``; ``2-501`` also from a 房号
  written 2-501 or 2单元501室);
- :func:`parse_address`: a standard address ``山西省太原市杏花岭区巨轮街道东一社区胜利街12号
  锦绣花园3号楼2单元501室`` split into door plate (胜利街12号), compound (锦绣花园), building
  (3), unit (2) and room (501).

The same functions normalise footprint and AOI names, so both sides meet on one key.
Functions are pure and cached (a ledger repeats its compound and building spellings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from gridgen.coverage.compound import text_or_none

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_DIGITS |= dict(zip("壹贰叁肆伍陆柒捌玖", range(1, 10), strict=True))  # financial numerals
_UNITS = {"十": 10, "百": 100, "千": 1000, "拾": 10, "佰": 100, "仟": 1000}
_NUMERAL_RUN = re.compile("[零〇○一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟]+")
_SPACE = re.compile(r"\s+")


def texts(values: Iterable[object]) -> list[str | None]:
    """Return a column or list as stripped strings and None (pandas 3 turns None into NaN)."""
    return [text_or_none(v) for v in values]


def chinese_number(run: str) -> str:
    """Return the digits of a run of Chinese numerals (十二 → 12, 一〇五 → 105, 两 → 2)."""
    if not any(ch in _UNITS for ch in run):
        return "".join(str(_DIGITS[ch]) for ch in run)
    total = digit = 0
    for ch in run:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
    return str(total + digit)


@lru_cache(maxsize=200_000)
def folded_text(text: str) -> str:
    """Return ``text`` NFKC-folded, without whitespace, with Chinese numerals as digits."""
    out = unicodedata.normalize("NFKC", text)
    out = _SPACE.sub("", out).replace("＃", "#")
    return _NUMERAL_RUN.sub(lambda m: chinese_number(m.group(0)), out).upper()


_COMPOUND_SUFFIX = re.compile(r"(?:小区|住宅小区|社区)$")
_BRACKETS = re.compile(r"[()（）\[\]【】《》\"'“”‘’·,，.。、]")


@lru_cache(maxsize=100_000)
def compound_key(name: str | None) -> str | None:
    """Return the key of a compound name: folded, no brackets, no trailing 小区 (None if blank)."""
    if not isinstance(name, str):
        return None
    key = _BRACKETS.sub("", folded_text(name))
    stripped = _COMPOUND_SUFFIX.sub("", key)
    key = stripped if len(stripped) >= 2 else key
    return key or None


_NUMBER = r"[0-9]+(?:-[0-9]+)?[A-Z]?|[A-Z]"
_BUILDING_SUFFIX = r"号楼|号院楼|栋楼|栋|幢|座|#楼|#|楼|号"
_BUILDING_ALONE = re.compile(rf"^(?:第)?({_NUMBER})(?:{_BUILDING_SUFFIX})?$")


@lru_cache(maxsize=100_000)
def building_key(text: str | None) -> str | None:
    """Return the building number of a 楼栋 cell (3号楼 / 3栋 / 三幢 / ３# / A座 → 3 / A).

    A cell that is not a building number (a name such as 综合楼) is kept folded, so two
    spellings of one name still meet.
    """
    if not isinstance(text, str):
        return None
    key = folded_text(text)
    if not key:
        return None
    hit = _BUILDING_ALONE.match(key)
    return hit.group(1) if hit else key


_ROOM_CELL = re.compile(r"^(?:([0-9]+)(?:单元|-))?([0-9]+[A-Z]?)(?:室|号|户)?$")
_UNIT_CELL = re.compile(r"^(?:第)?([0-9]+)(?:单元)?$")


@lru_cache(maxsize=50_000)
def _unit(text: str | None) -> str | None:
    if not isinstance(text, str):
        return None
    key = folded_text(text)
    hit = _UNIT_CELL.match(key)
    return hit.group(1).lstrip("0") or "0" if hit else (key or None)


def room_key(unit: str | None, room: str | None) -> str | None:
    """Return ``unit-room`` (``2-501``) from 单元 and 房号 cells; None without a room."""
    if not isinstance(room, str):
        return None
    key = folded_text(room)
    hit = _ROOM_CELL.match(key)
    if hit is None:
        return f"{_unit(unit) or ''}-{key}" if key else None
    unit_key = _unit(unit) or hit.group(1)
    return f"{unit_key or ''}-{hit.group(2)}"


@dataclass(frozen=True)
class Address:
    """The parts of a parsed address (each None when the address does not give it)."""

    doorplate: str | None = None
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None


_ADMIN_END = ("社区居委会", "居民委员会", "居委会", "村委会", "社区")
_TOWN_END = ("街道办事处", "街道", "镇", "乡")
_COUNTY = re.compile(r"^.{2,12}?[市州盟](?:.{1,8}?[区县旗])?")
_TAIL_UNIT_ROOM = re.compile(
    r"(?:([0-9]+)单元)?([0-9]+[A-Z]?)(?:室|户)$|([0-9]+)单元([0-9]+[A-Z]?)号?$"
)
_TAIL_DASHES = re.compile(r"([0-9]+[A-Z]?)-([0-9]+)-([0-9]+[A-Z]?)(?:室|号|户)?$")
_BUILDING_IN = re.compile(rf"({_NUMBER})({_BUILDING_SUFFIX})$")
_DOORPLATE = re.compile(r"^(.{1,15}?(?:大街|大道|胡同|路|街|巷|道|里|弄))([0-9]+(?:-[0-9]+)?)号")


def _after_admin(text: str) -> str:
    """Return ``text`` without its administrative prefix (省市区, 街道, 社区)."""
    for ends in (_ADMIN_END, _TOWN_END):
        cut = max((text.rfind(end) + len(end) for end in ends if end in text), default=-1)
        if cut > 0:
            return text[cut:]
    hit = _COUNTY.match(text)
    return text[hit.end() :] if hit and len(text) - hit.end() >= 4 else text


TAIL_CHARS = 24
"""Unit and room sit in an address's last characters: the end patterns look only there
(an anchored ``search`` would otherwise try every position of a 40-character address)."""


def _split_room(rest: str) -> tuple[str, str | None, str | None, str | None]:
    """Return (rest, building, unit, room) after taking the unit and room off the end."""
    cut = max(0, len(rest) - TAIL_CHARS)
    tail_text = rest[cut:]
    dashes = _TAIL_DASHES.search(tail_text)
    if dashes:
        return rest[: cut + dashes.start()], dashes.group(1), dashes.group(2), dashes.group(3)
    tail = _TAIL_UNIT_ROOM.search(tail_text)
    if tail is None:
        return rest, None, None, None
    unit = tail.group(1) or tail.group(3)
    room = tail.group(2) or tail.group(4)
    return rest[: cut + tail.start()], None, unit, room


@lru_cache(maxsize=200_000)
def _parse_head(head: str) -> tuple[str | None, str | None, str | None]:
    """Return (doorplate, compound, building) of an address without its unit and room."""
    rest = _after_admin(head)
    doorplate = None
    plate = _DOORPLATE.match(rest)
    if plate is not None:
        doorplate = f"{plate.group(1)}{plate.group(2)}号"
        rest = rest[plate.end() :]
    building = None
    hit = _BUILDING_IN.search(rest)
    if hit is not None and (hit.group(2) != "号" or hit.start() > 0):
        building = hit.group(1)
        rest = rest[: hit.start()]
    compound = _BRACKETS.sub("", rest) or None
    return doorplate, compound, building


def parse_address(text: str | None) -> Address:
    """Return the parts of a standard address (any part may be None).

    >>> parse_address("山西省太原市杏花岭区巨轮街道东一社区胜利街12号锦绣花园3号楼2单元501室")
    Address(doorplate='胜利街12号', compound='锦绣花园', building='3', unit='2', room='501')
    """
    if not isinstance(text, str):
        return Address()
    key = folded_text(text)
    if not key:
        return Address()
    head, building, unit, room = _split_room(key)
    doorplate, compound, head_building = _parse_head(head)
    return Address(doorplate, compound, building or head_building, unit, room)
