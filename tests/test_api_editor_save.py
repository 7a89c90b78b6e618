"""An editor save writes only the edited community's grid rows and reads back as a full save."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import shapely
from conftest import ADMIN_KEY
from editor_helpers import movable_unit
from fastapi.testclient import TestClient
from test_api import key, run_plan, upload

from api.app import create_app
from api.settings import Settings
from api.store import sql
from api.store.base import FeatureRow, grids_key
from gridgen.sample.district import sample_path


@pytest.fixture
def client(database: tuple[str, str | None]) -> Iterator[TestClient]:
    url, schema = database
    settings = Settings(database_url=url, database_schema=schema, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings)) as c:
        yield c


def test_assign_saves_the_community_and_copies_the_rest(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner, viewer = key(client, "planner"), key(client, "viewer")
    ds = upload(client, sample_path() / "district.gpkg")
    comms = client.get("/ogc/collections/communities/items?limit=2", headers=viewer).json()
    cids = sorted(f["properties"]["community_id"] for f in comms["features"])
    fast, old_way = (run_plan(client, planner, ds, communities=cids) for _ in range(2))
    store = client.app.state.gridgen.store  # type: ignore[attr-defined]
    data = client.get(f"/plans/{fast}/editor?community={cids[0]}", headers=planner).json()
    i, _, dst = movable_unit(data)
    edit = {"base_version": 1, "assign": {data["units"][i]["id"]: dst}}

    written: list[str] = []
    real_records, real_add = sql.frame_records, sql.SQLStore.add_version

    def spy(frame: pd.DataFrame, layer: str) -> list[FeatureRow]:
        rows = real_records(frame, layer)
        written.extend(r.fid for r in rows if layer == "grids")
        return rows

    monkeypatch.setattr(sql, "frame_records", spy)
    assert client.post(f"/plans/{fast}/edits/assign", json=edit, headers=planner).status_code == 201
    v2 = store.load_version(fast, 2)
    inside = set(v2.grids.loc[v2.grids["community_id"] == cids[0], "grid_id"])
    assert sorted(written) == sorted(inside) and len(inside) < len(v2.grids)

    def full_write(self: Any, plan_id: str, **kw: Any) -> Any:  # the store before the copy
        return real_add(self, plan_id, **{**kw, "changed_grids": None, "changed_assignment": None})

    monkeypatch.setattr(sql.SQLStore, "add_version", full_write)
    assert (
        client.post(f"/plans/{old_way}/edits/assign", json=edit, headers=planner).status_code == 201
    )
    ref = store.load_version(old_way, 2)
    pd.testing.assert_frame_equal(v2.grids, ref.grids)
    pd.testing.assert_frame_equal(v2.assignment, ref.assignment)
    assert (v2.record(), v2.locked) == (ref.record(), ref.locked)
    rows = {r.fid: r for r in store.layer_rows(grids_key(fast, 2))}
    assert rows == {r.fid: r for r in store.layer_rows(grids_key(old_way, 2))}

    # OGC items by bbox on the saved version: a copied grid and an edited one
    assert client.post(f"/plans/{fast}/versions/2/publish", headers=planner).status_code == 200
    envelopes = {g: shapely.envelope(shapely.from_wkb(row.wkb)) for g, row in rows.items()}
    for gid in (sorted(set(rows) - inside)[0], dst):
        geom = shapely.from_wkb(rows[gid].wkb)
        x, y = geom.representative_point().coords[0]
        box = (x - 1e-5, y - 1e-5, x + 1e-5, y + 1e-5)
        query = shapely.box(*box)
        r = client.get(
            "/ogc/collections/grids/items",
            params={"bbox": ",".join(map(str, box)), "dataset": ds},
            headers=viewer,
        )
        assert r.status_code == 200, r.text
        got = {f["properties"]["grid_id"] for f in r.json()["features"]}
        assert gid in got and got == {g for g, env in envelopes.items() if env.intersects(query)}
