"""Uploaded files, copied or read in chunks under the size limit (one implementation).

The ASGI guard (:mod:`api.guard`) already caps the request body while it streams; these
helpers keep the per-request total honest across several files and name the limit in the
error a client sees.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from fastapi import UploadFile

from api.errors import PayloadTooLargeError
from gridgen.errors import GridgenError

CHUNK = 1 << 20
"""Bytes read from an upload at a time."""


def copy_capped(upload: UploadFile, out: BinaryIO, *, limit: int, used: int = 0) -> int:
    """Copy ``upload`` into ``out``; return the bytes used so far (``used`` + this file).

    Raises
    ------
    PayloadTooLargeError
        When the total passes ``limit`` (the message names the limit).
    """
    total = used
    while chunk := upload.file.read(CHUNK):
        total += len(chunk)
        if total > limit:
            msg = f"file: upload exceeds the limit of {limit} bytes; split or simplify it"
            raise PayloadTooLargeError(msg)
        out.write(chunk)
    return total


def read_capped(upload: UploadFile, *, limit: int) -> bytes:
    """Return the bytes of ``upload`` (PayloadTooLargeError past ``limit``)."""
    buf = io.BytesIO()
    copy_capped(upload, buf, limit=limit)
    return buf.getvalue()


@contextmanager
def upload_names(folder: Path) -> Iterator[None]:
    """Re-raise a gridgen error raised inside with ``folder`` (the service's temporary
    folder of the uploads) cut from its message: the client knows its files by their own
    names, and the server's paths are none of its business.
    """
    try:
        yield
    except GridgenError as exc:
        text = str(exc)
        for prefix in {str(folder) + "/", str(folder.resolve()) + "/"}:
            text = text.replace(prefix, "")
        if exc.args and text != str(exc):
            exc.args = (text, *exc.args[1:])
        raise


FORM_FIELDS = {
    "--ledger-crs": "ledger_crs",
    "--road-class": "road_class",
    "--crs": "crs",
    "--map": "map",
}
"""The ingest command's options and the form fields of ``POST /datasets/ingest`` they are."""


@contextmanager
def form_field_names() -> Iterator[None]:
    """Re-raise a gridgen error raised inside with the command line's option names (shared
    messages of :mod:`gridgen.ingest`) replaced by the route's form fields."""
    try:
        yield
    except GridgenError as exc:
        text = str(exc)
        for flag, field in FORM_FIELDS.items():
            text = re.sub(rf"{re.escape(flag)}(?![\w-])", field, text)
        if exc.args and text != str(exc):
            exc.args = (text, *exc.args[1:])
        raise
