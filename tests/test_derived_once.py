"""Concurrent requests for a derived layer compute it once (the viewer's first open asks for
both parts of the uncovered buildings at once, as counts and as tiles)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ADMIN_KEY
from fastapi.testclient import TestClient

import api.service
from api.app import create_app
from api.settings import Settings
from gridgen.sample.district import sample_path

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        with (sample_path() / "district.gpkg").open("rb") as fh:
            r = c.post("/datasets", files={"file": ("district.gpkg", fh)}, headers=ADMIN)
        assert r.status_code == 201, r.text
        yield c


def test_uncovered_buildings_are_derived_once_under_concurrent_requests(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = api.service._uncovered
    calls: list[str] = []
    lock = threading.Lock()

    def counted(state: api.service.ServiceState, dataset_id: str) -> object:
        with lock:
            calls.append(dataset_id)
        time.sleep(0.3)  # long enough for every request below to arrive meanwhile
        return real(state, dataset_id)

    monkeypatch.setattr(api.service, "_uncovered", counted)
    urls = [
        "/ogc/collections/uncovered_buildings/items?limit=1",
        "/ogc/collections/uncovered_building_points/items?limit=1",
        "/tiles/uncovered_buildings/14/13412/6208.mvt",
        "/tiles/uncovered_building_points/14/13412/6208.mvt",
    ]
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = list(pool.map(lambda u: client.get(u, headers=ADMIN), urls))
    assert [a.status_code for a in answers] == [200, 200, 200, 200], [a.text for a in answers]
    assert len(calls) == 1, calls
    # The derived layer is the one every request sees: 5 uncovered buildings in the sample.
    got = answers[0].json()["numberMatched"] + answers[1].json()["numberMatched"]
    assert got == 5
