"""Scale-out on Dask: halo subsets, map over communities, identical results on a cluster.

One ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` is shared by the
module (starting one takes a few seconds).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridgen.coverage.stations import station_coverage
from gridgen.dataset import Dataset, empty_layer
from gridgen.distributed.executor import Executor, map_communities
from gridgen.distributed.subsets import (
    ORPHANS,
    Shards,
    community_rows,
    community_subsets,
    coverage_blocks,
    coverage_group_ids,
    partition_shards,
    without_restricted,
)
from gridgen.distributed.work import (
    HaloInput,
    assemble_coverage,
    coverage_distributed,
    coverage_of_block,
    run_coverage,
)
from gridgen.errors import ClusterError, ParameterError
from gridgen.schema import DATASET_LAYERS

pytestmark = pytest.mark.serial  # a LocalCluster of 2 processes, and a 15 s timing bound

X0, Y0 = 500_000.0, 3_500_000.0
UTM = pyproj.CRS.from_epsg(32649)


def _frame(rows: list[dict[str, object]], geoms: list[object]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=UTM).to_crs(4326)
    for col in frame.columns:
        if col.endswith("_id"):
            frame[col] = frame[col].astype("string")
    return frame


def _pt(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def _line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def _dataset(
    communities: list[tuple[str, object]],
    buildings: list[tuple[str, str | None, object]],
    stations: list[tuple[str, object]],
    roads: list[object],
) -> Dataset:
    layers = {name: empty_layer(name) for name in DATASET_LAYERS}
    layers["communities"] = _frame(
        [{"community_id": c, "name": c, "street_id": "ST"} for c, _ in communities],
        [g for _, g in communities],
    )
    layers["buildings"] = _frame(
        [
            {"building_id": b, "compound_id": pd.NA, "households": 10 + k, "community_id": c}
            for k, (b, c, _) in enumerate(buildings)
        ],
        [g for _, _, g in buildings],
    )
    layers["stations"] = _frame(
        [{"station_id": s, "kind": "micro"} for s, _ in stations], [g for _, g in stations]
    )
    layers["roads"] = _frame(
        [{"road_id": f"R{k}", "kind": "minor", "walkable": True} for k in range(len(roads))], roads
    )
    return Dataset(layers=layers, metric_crs=UTM, name="t")


def edge_dataset(*, with_s2: bool = True) -> Dataset:
    """Two communities side by side; building E (in C1) is nearest to S2 (in C2).

    Roads: y=500 from x=-500 to 2500; x=900 and x=1100 (0..1000); x=1305 (400..1000).
    S1 (100,510) snap 10; S2 (1150,505) snap 5; S3 (1290,700) snap 15 to the x=1305 road,
    which is 305 m from C1, outside a 300 m halo.
    E (950,520): walk to S2 = 20 + 200 + 5 = 225; to S3 = 20 + 355 + 200 + 15 = 590.
    F (300,800): walk to S1 = 300 + 200 + 10 = 510.
    """
    stations = [("S1", _pt(100, 510)), ("S3", _pt(1290, 700))]
    if with_s2:
        stations.insert(1, ("S2", _pt(1150, 505)))
    return _dataset(
        [
            ("C1", box(X0, Y0, X0 + 1000, Y0 + 1000)),
            ("C2", box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)),
        ],
        [
            ("E", "C1", _pt(950, 520)),
            ("F", "C1", _pt(300, 800)),
            ("G", "C2", _pt(1500, 300)),
            ("H", None, _pt(2400, 480)),
        ],
        stations,
        [
            _line((-500, 500), (2500, 500)),
            _line((900, 0), (900, 1000)),
            _line((1100, 0), (1100, 1000)),
            _line((1305, 400), (1305, 1000)),
        ],
    )


def lattice_dataset(seed: int) -> Dataset:
    """3 x 3 communities of 600 m on a road lattice every 150 m, random stations, buildings."""
    rng = np.random.default_rng(seed)
    side = 600.0
    comms = [
        (f"C{i}{j}", box(X0 + i * side, Y0 + j * side, X0 + (i + 1) * side, Y0 + (j + 1) * side))
        for i in range(3)
        for j in range(3)
    ]
    roads: list[object] = []
    for k in range(13):
        roads.append(_line((k * 150, 0), (k * 150, 1800)))
        roads.append(_line((0, k * 150), (1800, k * 150)))
    # an isolated loop with buildings (unreachable) and a far station
    roads.append(_line((2600, 2600), (2700, 2600), (2700, 2700)))
    xy = rng.uniform(0, 1800, size=(120, 2))
    buildings = []
    for n, (x, y) in enumerate(xy):
        i, j = min(int(x // side), 2), min(int(y // side), 2)
        buildings.append((f"B{n:03d}", f"C{i}{j}", _pt(x, y)))
    buildings.append(("Bfar", None, _pt(2650, 2610)))
    st = rng.uniform(0, 1800, size=(5, 2))
    stations = [(f"S{n}", _pt(x, y)) for n, (x, y) in enumerate(st)]
    return _dataset(comms, buildings, stations, roads)


def assert_coverage_equal(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, exact: bool) -> None:
    """Assert equal coverage frames (distances to 1e-6 m unless ``exact``)."""
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    if exact:
        pd.testing.assert_frame_equal(a, b)
        return
    pd.testing.assert_frame_equal(a.drop(columns="distance_m"), b.drop(columns="distance_m"))
    np.testing.assert_allclose(
        a["distance_m"].to_numpy(dtype=float), b["distance_m"].to_numpy(dtype=float), atol=1e-6
    )


# --------------------------------------------------------------------------- halo


def test_halo_subset_gives_the_whole_dataset_result_for_an_edge_building() -> None:
    ds = edge_dataset()
    whole = station_coverage(ds, radius=300, mode="walk").set_index("building_id")
    sub = community_subsets(ds, ["C1"], halo_m=300)["C1"]
    assert set(sub.stations["station_id"]) == {"S1", "S2", "S3"}
    part = station_coverage(sub, radius=300, mode="walk").set_index("building_id")
    assert whole.loc["E", "station_id"] == "S2"
    assert whole.loc["E", "distance_m"] == pytest.approx(225.0)
    assert part.loc["E", "station_id"] == "S2"
    assert part.loc["E", "distance_m"] == pytest.approx(225.0)
    assert bool(part.loc["E", "covered"])
    # without the halo the neighbour's station is missing and E looks uncovered
    bare = station_coverage(community_subsets(ds, ["C1"], halo_m=0)["C1"], radius=300)
    bare = bare.set_index("building_id")
    assert bare.loc["E", "station_id"] == "S1"
    assert not bool(bare.loc["E", "covered"])


def test_halo_includes_the_road_a_station_snaps_to() -> None:
    ds = edge_dataset(with_s2=False)
    rows = community_rows(ds, ["C1"], halo_m=300)["C1"]
    assert list(ds.roads["road_id"].iloc[rows.roads]) == ["R0", "R1", "R2", "R3"]
    part = station_coverage(community_subsets(ds, ["C1"], halo_m=300)["C1"], radius=300)
    part = part.set_index("building_id")
    whole = station_coverage(ds, radius=300).set_index("building_id")
    # S3 snaps to the x=1305 road (15 m), not to y=500 (200 m): 590, not 560
    assert whole.loc["E", "distance_m"] == pytest.approx(590.0)
    assert part.loc["E", "distance_m"] == pytest.approx(590.0)


def test_coverage_groups_include_buildings_without_community() -> None:
    ds = edge_dataset()
    assert coverage_group_ids(ds) == ["C1", "C2", ORPHANS]
    rows = community_rows(ds, coverage_group_ids(ds), halo_m=100)
    together = np.sort(np.concatenate([r.buildings for r in rows.values()]))
    assert together.tolist() == list(range(len(ds.buildings)))


@pytest.mark.parametrize("mode", ["walk", "line"])
def test_coverage_distributed_equals_whole_dataset(mode: str) -> None:
    ds = edge_dataset()
    whole = station_coverage(ds, radius=300, mode=mode)
    # F (510 m) is beyond the 300 m halo and is settled by a larger one
    got = coverage_distributed(ds, radius=300, mode=mode, halo_m=300)
    assert_coverage_equal(got, whole, exact=False)


@pytest.mark.parametrize(
    ("seed", "mode", "halo", "by"),
    [(1, "walk", 150, "community"), (2, "walk", 400, "street"), (3, "line", 150, "community")],
)
def test_coverage_distributed_equals_whole_on_random_lattice(
    seed: int, mode: str, halo: float, by: str
) -> None:
    ds = lattice_dataset(seed)
    whole = station_coverage(ds, radius=150, mode=mode)
    assert not whole["reachable"].all() or mode == "line"
    assert 0 < whole["covered"].mean() < 1
    got = coverage_distributed(ds, radius=150, mode=mode, halo_m=halo, by=by)
    assert_coverage_equal(got, whole, exact=False)


def test_coverage_blocks_group_communities_by_street(sample: Dataset) -> None:
    blocks = coverage_blocks(sample, by="street")
    assert len(blocks) == 3
    members = sorted(c for m in blocks.values() for c in m)
    assert members == sorted(sample.communities["community_id"].astype(str))
    assert len(coverage_blocks(sample, by="community")) == 10
    with pytest.raises(ParameterError, match="unknown block 'grid'"):
        coverage_blocks(sample, by="grid")


def test_halo_smaller_than_radius_is_refused() -> None:
    with pytest.raises(ParameterError, match="halo_m"):
        coverage_distributed(edge_dataset(), radius=300, halo_m=100)


def test_restricted_columns_are_not_shipped(sample: Dataset) -> None:
    assert "leader_phone" in sample.buildings.columns
    sample.metric("buildings")
    shipped = without_restricted(sample)
    for frame in (shipped.buildings, shipped.metric("buildings")):
        assert not {"leader_phone", "key_persons"} & set(frame.columns)
        assert "households" in frame.columns
    assert len(shipped.buildings) == len(sample.buildings)
    assert "leader_phone" in sample.buildings.columns  # the caller's dataset is untouched


# --------------------------------------------------------------------------- in process


def _square(dataset: object, community_id: str, *, factor: int) -> tuple[str, int]:
    return community_id, factor * len(community_id)


def test_map_in_process_keeps_order_and_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    out = map_communities(
        _square, None, ["bb", "a", "ccc"], progress=lambda d, t: seen.append((d, t)), factor=2
    )
    assert out == [("bb", 4), ("a", 2), ("ccc", 6)]
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_map_refuses_a_community_listed_twice() -> None:
    with pytest.raises(ParameterError, match="'a' is listed twice"):
        map_communities(_square, None, ["a", "b", "a"], factor=1)


def test_bad_scheduler_address_is_a_clear_error_not_a_hang() -> None:
    start = time.monotonic()
    with pytest.raises(
        ClusterError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"
    ):
        map_communities(
            _square,
            None,
            ["a"],
            executor=Executor(scheduler="tcp://127.0.0.1:9", timeout=2),
            factor=1,
        )
    assert time.monotonic() - start < 15


def test_scheduler_setting_is_read_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("GRIDGEN_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    monkeypatch.setenv("GRIDGEN_DASK_TIMEOUT", "2")
    executor = Settings().executor()
    assert (executor.kind, executor.scheduler, executor.timeout) == ("dask", "tcp://127.0.0.1:9", 2)
    assert Settings().executor(scheduler="").kind == "in_process"  # --scheduler "" wins
    with pytest.raises(ClusterError, match=r"127\.0\.0\.1:9"):
        map_communities(_square, None, ["a"], executor=executor, factor=1)
    monkeypatch.delenv("GRIDGEN_DASK_SCHEDULER")
    monkeypatch.setenv("GRIDGEN_WORKERS", "3")
    assert Settings().executor().kind == "processes"
    # gridgen itself never reads the environment: the default executor is in process
    assert Executor().kind == "in_process"


@pytest.mark.parametrize(
    ("options", "match"),
    [({"workers": 0}, "workers must be"), ({"timeout": -1.0}, "positive number of seconds")],
)
def test_executor_refuses_bad_options(options: dict[str, float], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Executor(**options)  # type: ignore[arg-type]


def test_local_process_pool_gives_the_in_process_results() -> None:
    pool = Executor(workers=2)
    seen: list[int] = []
    out = map_communities(
        _square,
        None,
        ["bb", "a", "ccc"],
        executor=pool,
        progress=lambda d, t: seen.append(d),
        factor=3,
    )
    assert out == [("bb", 6), ("a", 3), ("ccc", 9)]
    assert seen == [1, 2, 3]
    with pytest.raises(ParameterError, match="community 'b' has no buildings"):
        map_communities(_fail_on_b, None, ["a", "b"], executor=pool)


def _fail_on_b(payload: object, community_id: str) -> str:
    if community_id == "b":
        msg = "community 'b' has no buildings: add some"
        raise ParameterError(msg)
    return community_id


# --------------------------------------------------------------------------- cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster: object) -> Iterator[object]:
    import distributed

    # not the default client: gridgen must pass its own client everywhere
    with distributed.Client(cluster, set_as_default=False) as c:  # type: ignore[arg-type]
        c.wait_for_workers(2, timeout=30)
        yield c


def test_cluster_coverage_is_identical_to_in_process(sample: Dataset, client: object) -> None:
    local = coverage_distributed(sample, radius=300, mode="walk")
    remote = coverage_distributed(
        sample,
        radius=300,
        mode="walk",
        executor=Executor(client=client),  # type: ignore[arg-type]
    )
    assert_coverage_equal(remote, local, exact=True)
    assert_coverage_equal(local, station_coverage(sample, radius=300, mode="walk"), exact=False)
    assert 0 < local["covered"].mean() < 1


def test_cluster_reached_through_the_setting(
    sample: Dataset, cluster: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import Settings

    monkeypatch.setenv("GRIDGEN_DASK_SCHEDULER", cluster.scheduler_address)  # type: ignore[attr-defined]
    remote = run_coverage(sample, radius=500, mode="line", executor=Settings().executor())
    monkeypatch.delenv("GRIDGEN_DASK_SCHEDULER")
    assert_coverage_equal(remote, coverage_distributed(sample, radius=500, mode="line"), exact=True)


@pytest.mark.parametrize("ship", ["dataset", "street"])
def test_cluster_partition_is_identical_to_in_process(
    sample: Dataset, client: object, ship: str
) -> None:
    from gridgen.partition.community import partition_dataset

    local = partition_dataset(sample, target=300, seed=7)
    seen: list[int] = []
    remote = partition_dataset(
        sample,
        target=300,
        seed=7,
        ship=ship,
        executor=Executor(client=client),  # type: ignore[arg-type]
        progress=lambda d, t: seen.append(d),  # type: ignore[arg-type]
    )
    assert seen == list(range(1, 11))
    pd.testing.assert_frame_equal(remote.assignment, local.assignment)
    cols = [c for c in local.grids.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(remote.grids[cols]), pd.DataFrame(local.grids[cols]))
    assert shapely.equals_exact(
        remote.grids.geometry.to_numpy(), local.grids.geometry.to_numpy(), tolerance=0
    ).all()
    assert remote.metrics == local.metrics
    assert len(remote.grids) > 50


def dying_coverage(
    payload: HaloInput, community_id: str, *, marker: str, victim: str, radius: float, mode: str
) -> gpd.GeoDataFrame:
    """Coverage of one community; the first run of ``victim`` kills its worker process."""
    if community_id == victim and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return coverage_of_block(payload, community_id, radius=radius, mode=mode)


def test_a_worker_that_dies_mid_run_has_its_community_rerun(
    sample: Dataset, client: object, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    ids = coverage_group_ids(sample)
    payload = HaloInput(sample, community_rows(sample, ids, halo_m=1000))
    parts = map_communities(
        dying_coverage,
        payload,
        ids,
        executor=Executor(client=client),  # type: ignore[arg-type]
        marker=str(marker),
        victim=ids[3],
        radius=500,
        mode="walk",
    )
    assert marker.exists()  # a worker really died
    got = assemble_coverage(sample, parts)
    assert len(got) == len(sample.buildings)
    assert_coverage_equal(got, coverage_distributed(sample, radius=500, mode="walk"), exact=True)


def test_partition_per_street_shards_equals_whole_dataset(sample: Dataset) -> None:
    from gridgen.partition.community import partition_community, partition_dataset
    from gridgen.partition.plan import merge_plans

    shards = partition_shards(sample, sorted(sample.communities["community_id"].astype(str)))
    assert len(shards.parts) == 3
    assert sum(len(p.buildings) for p in shards.parts.values()) == len(sample.buildings)
    local = partition_dataset(sample, target=300, seed=5)
    ids = sorted(sample.communities["community_id"].astype(str))
    plans = map_communities(partition_community, shards, ids, target=300, band=(240, 360), seed=5)
    split = merge_plans(plans, target=300, band=(240, 360), seed=5)
    pd.testing.assert_frame_equal(split.assignment, local.assignment)
    assert split.grids.geometry.geom_equals_exact(local.grids.geometry, 0).all()
    with pytest.raises(ParameterError, match="unknown ship 'all'"):
        partition_dataset(sample, ship="all")


def dying_partition(
    payload: Dataset, community_id: str, *, marker: str, victim: str, **options: object
) -> object:
    """Partition one community; the first run of ``victim`` kills its worker process."""
    from gridgen.partition.community import partition_community

    if community_id == victim and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return partition_community(payload, community_id, **options)  # type: ignore[arg-type]


def test_a_worker_holding_a_street_part_dies_and_the_plan_is_complete(
    sample: Dataset, client: object, tmp_path: Path
) -> None:
    from gridgen.partition.community import partition_dataset
    from gridgen.partition.plan import merge_plans

    marker = tmp_path / "killed"
    ids = sorted(sample.communities["community_id"].astype(str))
    plans = map_communities(
        dying_partition,
        partition_shards(sample, ids),
        ids,
        executor=Executor(client=client),  # type: ignore[arg-type]
        marker=str(marker),
        victim=ids[5],
        target=300,
        band=(240, 360),
        seed=2,
    )
    assert marker.exists()
    plan = merge_plans(plans, target=300, band=(240, 360), seed=2)  # type: ignore[arg-type]
    local = partition_dataset(sample, target=300, seed=2)
    pd.testing.assert_frame_equal(plan.assignment, local.assignment)
    assert len(plan.assignment) == len(sample.buildings)


def flaky(payload: object, community_id: str, *, log: str, fail_with: str) -> str:
    """Log each run; fail the first run of community 'b' with ``fail_with``."""
    path = Path(log)
    with path.open("a") as f:
        f.write(community_id + "\n")
    first = path.read_text().splitlines().count(community_id) == 1
    if community_id == "b" and first:
        if fail_with == "gridgen":
            msg = "community 'b' has no buildings: add some"
            raise ParameterError(msg)
        msg = "transient failure"
        raise RuntimeError(msg)
    return community_id.upper()


def test_cluster_retries_an_unexpected_error(client: object, tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    out = map_communities(
        flaky,
        None,
        ["a", "b", "c"],
        executor=Executor(client=client),  # type: ignore[arg-type]
        log=str(log),
        fail_with="runtime",  # type: ignore[arg-type]
    )
    assert out == ["A", "B", "C"]
    assert log.read_text().splitlines().count("b") == 2


def test_cluster_reports_a_gridgen_error_at_once(client: object, tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    with pytest.raises(ParameterError, match="community 'b' has no buildings"):
        map_communities(
            flaky,
            None,
            ["a", "b", "c"],
            executor=Executor(client=client),  # type: ignore[arg-type]
            log=str(log),
            fail_with="gridgen",  # type: ignore[arg-type]
        )
    assert log.read_text().splitlines().count("b") == 1  # not retried


# ------------------------------------------------- what cannot be pickled fails, never hangs


class Locked:
    """A value that cannot be pickled: it holds a lock."""

    def __init__(self) -> None:
        self.guard = threading.Lock()


def locked_result(payload: object, community_id: str) -> dict[str, object]:
    """A task whose result holds a lock (Dask would keep it on the worker forever)."""
    return {"community": community_id, "held": Locked()}


@pytest.mark.timeout(60)
def test_a_result_that_cannot_be_pickled_fails_at_once(client: object) -> None:
    with pytest.raises(ClusterError, match=r"cannot send the result\['held'\]\.guard \(a _thread"):
        map_communities(locked_result, None, ["a", "b"], executor=Executor(client=client))  # type: ignore[arg-type]


@pytest.mark.timeout(60)
def test_an_input_that_cannot_be_pickled_is_named(client: object) -> None:
    from gridgen.io.read import load_sample

    ds = load_sample()  # its own copy: the session's sample stays picklable
    ds.derived("a memo", lambda _: Locked())
    with pytest.raises(ClusterError, match=r"_derived_cache\['a memo'\]\.guard \(a _thread\.lock"):
        map_communities(locked_result, ds, ["x"], executor=Executor(client=client))  # type: ignore[arg-type]
    shards = Shards(
        parts={"street 1": {"roads": [1, 2], "memo": Locked()}}, part_of={"x": "street 1"}
    )
    with pytest.raises(ClusterError, match=r"the input\['street 1'\]\['memo'\]\.guard") as err:
        map_communities(locked_result, shards, ["x"], executor=Executor(client=client))  # type: ignore[arg-type]
    assert "no --scheduler" in str(err.value)
    # the cluster is still usable afterwards
    assert map_communities(flaky_free, None, ["a"], executor=Executor(client=client)) == ["A"]  # type: ignore[arg-type]


def flaky_free(payload: object, community_id: str) -> str:
    return community_id.upper()


@pytest.mark.timeout(90)
def test_the_cli_names_what_cannot_be_sent_without_a_traceback(
    cluster: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli_helpers import run_main

    import gridgen.io.read
    from gridgen.sample.district import sample_path

    read = gridgen.io.read.read_dataset

    def read_with_a_lock(*args: object, **kwargs: object) -> Dataset:
        ds = read(*args, **kwargs)  # type: ignore[arg-type]
        ds.layers["roads"]["note"] = [Locked() for _ in range(len(ds.layers["roads"]))]
        return ds

    monkeypatch.setattr(gridgen.io.read, "read_dataset", read_with_a_lock)
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    out = tmp_path / "plan.gpkg"
    run = run_main(
        "partition", str(sample_path() / "district.gpkg"), "--scheduler", address, "--out", str(out)
    )
    assert run.returncode == 1
    assert (
        "gridgen partition: error: cannot send the input['street:140105001'].layers['roads']"
        "['note'][0].guard (a _thread.lock: cannot pickle '_thread.lock' object) to the Dask"
    ) in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists()
