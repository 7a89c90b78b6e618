"""A test whose named client is missing is skipped locally and fails in CI."""

from __future__ import annotations

import clients
import conftest
import pytest


class _Item:
    """The part of a pytest item the hook reads."""

    def __init__(self, *names: str) -> None:
        self.mark = pytest.mark.needs_client(*names).mark

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return [self.mark] if name == self.mark.name else []


def test_a_missing_client_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(clients.CLIENTS, "absent-client", (lambda: False, "a client (pkg)"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"needs a client \(pkg\)"):
        conftest.pytest_runtest_setup(_Item("absent-client"))  # type: ignore[arg-type]
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"needs a client \(pkg\)"):
        conftest.pytest_runtest_setup(_Item("absent-client"))  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception, match=r"a client \(pkg\)"):
        clients.have_client("absent-client")
    monkeypatch.setenv("CI", "0")
    assert clients.have_client("absent-client") is False


def test_an_unknown_client_name_is_an_error() -> None:
    with pytest.raises(pytest.fail.Exception, match="known clients"):
        conftest.pytest_runtest_setup(_Item("netscape"))  # type: ignore[arg-type]


def test_every_named_client_is_known() -> None:
    assert set(clients.CLIENTS) == {
        "chromium",
        "gdal",
        "poppler",
        "libreoffice",
        "qgis",
        "qgis_process",
    }
