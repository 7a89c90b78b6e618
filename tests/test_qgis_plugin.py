"""The QGIS plugin's pure parts, outside QGIS: the algorithm table against gridgen's parser,
command lines, the process runner (progress, errors, cancel), figures read back, and
``gridgen qgis-plugin install|uninstall`` on a profile folder.

The plugin inside QGIS (``qgis_process``, the desktop's post-processing, models) is tested
in ``tests/test_qgis_process.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from gridgen_cli.main import build_parser, main
from gridgen_cli.qgis_install import (
    default_profile,
    ini_with,
    install,
    profiles_root,
    uninstall,
)
from gridgen_cli.qgis_plugin import MODELS_SOURCE, PLUGIN_NAME, PLUGIN_SOURCE
from gridgen_cli.qgis_plugin.gridgen_processing import readers, runner
from gridgen_cli.qgis_plugin.gridgen_processing.catalogue import ALGORITHMS, PARTITION
from gridgen_cli.qgis_plugin.gridgen_processing.spec import (
    GROUPS,
    AlgorithmSpec,
    CommandLineError,
    Param,
    command_line,
    parameter_hint,
)

CLI_ONLY = {"partition": {"--json"}}
"""Options the QGIS algorithms leave out on purpose (--json: a console format)."""


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _sample_value(p: Param) -> Any:
    """Return a value of every kind as the plugin passes it to command_line."""
    if p.kind == "grids_many":
        return ["a.gpkg", "b.geojson"]
    if p.kind == "lines":
        return ["a=b", "c=d"]
    if p.kind in ("int", "float"):
        return "1" if p.default is None else str(p.default)
    if p.kind == "enum":
        return p.choices[-1]
    if p.kind == "bool":
        return True
    if p.kind == "crs":
        return "EPSG:4547"
    if p.kind == "date":
        return "2025-01-01"
    if p.kind == "output":
        return f"out_{p.name.lower()}{p.suffixes[0]}"
    return {"dataset": "city.gpkg", "file": "plan.gpkg"}.get(p.kind, f"{p.name.lower()}.gpkg")


def _values(spec: AlgorithmSpec) -> dict[str, Any]:
    values = {p.name: _sample_value(p) for p in spec.params}
    for names in spec.needs_one_of:
        for other in names[1:]:
            values[other] = None
    return values


@pytest.mark.parametrize("spec", ALGORITHMS, ids=lambda s: s.name)
def test_every_algorithm_makes_a_command_line_gridgen_parses(spec: AlgorithmSpec) -> None:
    argv = command_line(spec, _values(spec))
    args = build_parser().parse_args(argv)  # an unknown option or bad value exits here
    assert args.command == spec.command
    assert spec.group in GROUPS
    assert spec.title.zh != spec.title.en and spec.help.zh and spec.help.en
    for p in spec.params:
        assert p.label.zh and p.label.en, p.name
        assert p.name.isupper() and p.name.isidentifier(), p.name


@pytest.mark.parametrize("spec", ALGORITHMS, ids=lambda s: s.name)
def test_every_option_of_the_command_is_a_parameter(spec: AlgorithmSpec) -> None:
    parser = _subparsers()[spec.command]
    flags = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    mine = {p.flag for p in spec.params if p.flag}
    assert flags - mine - {"--help"} == CLI_ONLY.get(spec.command, set())
    assert mine <= flags


def test_algorithm_names_are_unique_processing_ids() -> None:
    names = [s.name for s in ALGORITHMS]
    assert len(set(names)) == len(names)
    assert all(n.isidentifier() and n.islower() for n in names)
    assert {
        "validate",
        "partition",
        "audit",
        "rebalance",
        "merge_grids",
        "coverage",
        "site",
    } <= set(names)
    assert {"report", "sheet", "atlas", "ingest"} <= set(names)


def test_command_line_joins_the_band_and_refuses_half_of_it() -> None:
    values = {"DATA": "c.gpkg", "TARGET": "300", "BAND_MIN": "240", "BAND_MAX": "360"}
    values["OUTPUT"] = "p.gpkg"
    argv = command_line(PARTITION, values)
    assert argv[:2] == ["partition", "c.gpkg"]
    assert argv[argv.index("--band") + 1] == "240,360"
    with pytest.raises(CommandLineError, match="BAND_MIN and BAND_MAX together"):
        command_line(PARTITION, {**values, "BAND_MAX": None})
    no_band = command_line(PARTITION, {**values, "BAND_MIN": None, "BAND_MAX": None})
    assert "--band" not in no_band


def test_command_line_takes_the_chinese_datum_over_the_epsg_code() -> None:
    values = {"DATA": "c.gpkg", "OUTPUT": "p.gpkg", "OUT_CRS": "EPSG:4547"}
    argv = command_line(PARTITION, values)
    assert argv[argv.index("--out-crs") + 1] == "EPSG:4547"
    argv = command_line(PARTITION, {**values, "OUT_CHINESE_CRS": "gcj02"})
    assert argv[argv.index("--out-crs") + 1] == "gcj02"
    assert argv.count("--out-crs") == 1


def test_command_line_exactly_one_of_and_repeated_layers() -> None:
    merge = next(s for s in ALGORITHMS if s.name == "merge_grids")
    argv = command_line(merge, {**_values(merge), "GRIDS": ["城管.gpkg", "综治.geojson"]})
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--grids"] == [
        "城管.gpkg",
        "综治.geojson",
    ]
    site = next(s for s in ALGORITHMS if s.name == "site")
    with pytest.raises(CommandLineError, match="exactly one of ADD, TARGET_SHARE"):
        command_line(site, {**_values(site), "TARGET_SHARE": "0.9"})
    with pytest.raises(CommandLineError, match=r"given: none"):
        command_line(site, {**_values(site), "ADD": None})


def test_a_new_command_is_one_entry_with_repeated_options() -> None:
    """What adding ``gridgen ingest`` takes: one spec; repeated options come from lines."""
    from gridgen_cli.qgis_plugin.gridgen_processing.spec import Text

    label = Text("某", "some")
    spec = AlgorithmSpec(
        name="ingest",
        command="ingest",
        title=Text("导入", "Ingest"),
        group="data",
        help=label,
        params=(
            Param("FOOTPRINTS", "layer", label, flag="--footprints"),
            Param("MAP", "lines", label, flag="--map", optional=True),
            Param("OUTPUT", "output", label, flag="--out", suffixes=(".gpkg",), load=True),
        ),
    )
    values = {
        "FOOTPRINTS": "roads.osm.pbf",
        "MAP": ["buildings.building_id=BLDG_ID", "buildings.households=户数"],
        "OUTPUT": "d.gpkg",
    }
    assert command_line(spec, values) == [
        "ingest",
        "--footprints",
        "roads.osm.pbf",
        "--map",
        "buildings.building_id=BLDG_ID",
        "--map",
        "buildings.households=户数",
        "--out",
        "d.gpkg",
    ]
    assert "--map" not in command_line(spec, {**values, "MAP": []})


def test_parameter_hint_names_the_parameters_of_an_option() -> None:
    message = "gridgen partition: error: band 400,200 ...: give --band MIN,MAX around the target"
    assert parameter_hint(PARTITION, message) == " [--band = BAND_MIN, BAND_MAX]"
    audit = next(s for s in ALGORITHMS if s.name == "audit")
    hint = parameter_hint(audit, "--grids-crs gcj02 would fit")
    assert hint == " [--grids-crs = GRIDS_CRS, GRIDS_CHINESE_CRS]"  # not --grids
    assert parameter_hint(PARTITION, "no option here") == ""


# ---- the runner, on stand-in executables -------------------------------------------------


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "fake_gridgen.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(path)]


class Collect:
    def __init__(self, cancel_after: float | None = None) -> None:
        self.out: list[str] = []
        self.messages: list[str] = []
        self.progress: list[tuple[str, float]] = []
        self.cancel_after = cancel_after

    def callbacks(self) -> runner.Callbacks:
        return runner.Callbacks(
            stdout=self.out.append,
            message=self.messages.append,
            progress=lambda what, pct: self.progress.append((what, pct)),
            cancelled=lambda: (
                self.cancel_after is not None
                and any(p >= self.cancel_after for _, p in self.progress)
            ),
        )


def test_runner_turns_lines_into_progress_summary_and_the_one_line_error(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import os, sys
        assert os.environ["GRIDGEN_PROGRESS_STEP"] == "1" and "PYTHONPATH" not in os.environ
        for i in range(1, 5):
            print(f"  partition: {i}/4", file=sys.stderr, flush=True)
        print("no roads in DATA: straight lines", file=sys.stderr)
        print("12 grids for 3,600 households")
        print("gridgen partition: error: band 400,200 must satisfy MIN <= MAX", file=sys.stderr)
        sys.exit(2)
        """,
    )
    seen = Collect()
    env = runner.child_environment({**os.environ, "PYTHONPATH": "/usr/share/qgis/python"})
    outcome = runner.run(argv, seen.callbacks(), env=env)
    assert outcome.status == 2 and not outcome.cancelled
    assert outcome.error == "gridgen partition: error: band 400,200 must satisfy MIN <= MAX"
    assert runner.failure_reason(outcome, "partition") == outcome.error
    assert seen.progress == [
        ("partition", 25.0),
        ("partition", 50.0),
        ("partition", 75.0),
        ("partition", 100.0),
    ]
    assert seen.out == ["12 grids for 3,600 households"]
    assert seen.messages == ["no roads in DATA: straight lines"]


def test_runner_without_an_error_line_reports_the_status_and_last_lines(tmp_path: Path) -> None:
    argv = _script(
        tmp_path, "import sys; print('Segmentation fault', file=sys.stderr); sys.exit(139)"
    )
    outcome = runner.run(argv, Collect().callbacks())
    assert runner.failure_reason(outcome, "audit") == (
        "gridgen audit: exited with status 139: Segmentation fault"
    )


@pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")
def test_cancel_stops_gridgen_and_the_processes_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    argv = _script(
        tmp_path,
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("  partition: 1/10", file=sys.stderr, flush=True)
        time.sleep(60)
        """,
    )
    started = time.monotonic()
    outcome = runner.run(argv, Collect(cancel_after=10.0).callbacks())
    assert outcome.cancelled
    assert time.monotonic() - started < 20
    child = int(pid_file.read_text())
    for _ in range(50):  # the worker dies with the group (it is a zombie until reaped)
        status = Path(f"/proc/{child}/stat")
        if not status.exists() or status.read_text().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the process gridgen started still runs after cancel")


def test_progress_lines_of_the_real_cli(tmp_path: Path) -> None:
    from gridgen_cli import progress

    os.environ["GRIDGEN_PROGRESS_STEP"] = "1"
    try:
        assert progress.plain_step() == 1
    finally:
        del os.environ["GRIDGEN_PROGRESS_STEP"]
    assert progress.plain_step() == 25
    assert runner.progress_of("  coverage blocks: 3/12") == ("coverage blocks", 25.0)
    assert runner.progress_of("validation of x.gpkg: 1/2 rows") is None


# ---- figures read back ---------------------------------------------------------------------


def test_readers_find_the_figures_of_real_outputs(tmp_path: Path) -> None:
    from gridgen.io.grids import write_audit
    from gridgen.io.plan import write_plan
    from gridgen.io.read import load_sample
    from gridgen.partition.audit import audit_grids
    from gridgen.partition.community import partition_dataset

    ds = load_sample()
    plan = partition_dataset(ds, target=300, seed=0)
    path = str(write_plan(plan, tmp_path / "plan.gpkg"))
    assert readers.number(path, "plan", "n_grids") == plan.metrics.n_grids
    assert readers.number(path, "plan", "households") == plan.metrics.households
    audit = audit_grids(ds, plan.grids, band=plan.band)
    for suffix in (".json", ".gpkg"):
        report = str(write_audit(audit, tmp_path / f"audit{suffix}"))
        assert readers.number(report, "audit", "summary.grids") == plan.metrics.n_grids
    rejected = tmp_path / "report.json"
    counts = {"buildings": {"rows_rejected": 2}, "roads": {"rows_rejected": 1}}
    rejected.write_text(json.dumps({"counts": counts}), encoding="utf-8")
    assert readers.number(str(rejected), "rejected_rows", "") == 3
    assert readers.number(path, "plan", "no.such.key") is None
    assert readers.number(path, "json", "totals.matched") is None  # a GeoPackage is no JSON


# ---- install / uninstall -------------------------------------------------------------------


def test_ini_with_sets_and_removes_a_key_keeping_everything_else() -> None:
    text = (
        "[General]\nfoo=@Variant(\\0\\0\\0\\x7f)\n\n[PythonPlugins]\nprocessing=true\n"
        "db_manager=true\n\n[qgis]\nstyleSheet=x\n"
    )
    on = ini_with(text, "PythonPlugins", PLUGIN_NAME, "true")
    assert f"db_manager=true\n{PLUGIN_NAME}=true\n\n[qgis]" in on
    assert on.startswith("[General]\nfoo=@Variant(\\0\\0\\0\\x7f)\n")
    assert ini_with(on, "PythonPlugins", PLUGIN_NAME, "true") == on  # idempotent
    assert ini_with(on, "PythonPlugins", PLUGIN_NAME, None) == text
    assert ini_with("", "PythonPlugins", "x", "true") == "[PythonPlugins]\nx=true\n"
    assert ini_with("[a]\nb=1\n", "PythonPlugins", "x", None) == "[a]\nb=1\n"


def test_default_profile_follows_qgis(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    if sys.platform.startswith("linux"):
        root = tmp_path / ".local/share/QGIS/QGIS3"
        assert profiles_root(env) == root
        assert default_profile(env) == root / "profiles" / "default"
    custom = tmp_path / "cfg"
    (custom / "profiles").mkdir(parents=True)
    (custom / "profiles" / "profiles.ini").write_text("[core]\ndefaultProfile=规划\n", "utf-8")
    env["QGIS_CUSTOM_CONFIG_PATH"] = str(custom)
    assert default_profile(env) == custom / "profiles" / "规划"


def test_install_and_uninstall_a_profile(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nprocessing=true\n\n[locale]\nuserLocale=zh_CN\n", "utf-8")
    done = install(profile)
    plugin = profile / "python" / "plugins" / PLUGIN_NAME
    assert done.plugin == plugin
    assert (plugin / "metadata.txt").read_text("utf-8").count("hasProcessingProvider=yes") == 1
    record = json.loads((plugin / "install.json").read_text("utf-8"))
    assert record["command"] == done.command and Path(record["command"][0]).exists()
    assert not list(plugin.rglob("__pycache__"))
    assert f"processing=true\n{PLUGIN_NAME}=true\n" in ini.read_text("utf-8")
    models = sorted(p.name for p in (profile / "processing" / "models").glob("*.model3"))
    assert models == sorted(p.name for p in MODELS_SOURCE.glob("*.model3")) and models
    (plugin / "stale.py").write_text("old", encoding="utf-8")
    install(profile)  # again: a fresh copy replaces the old one
    assert not (plugin / "stale.py").exists()
    assert sorted(p.name for p in plugin.parent.iterdir()) == [PLUGIN_NAME]
    gone = uninstall(profile)
    assert gone.removed and not plugin.exists()
    assert not list((profile / "processing" / "models").glob("*.model3"))
    assert (
        ini.read_text("utf-8") == "[PythonPlugins]\nprocessing=true\n\n[locale]\nuserLocale=zh_CN\n"
    )
    assert not uninstall(profile).removed


def test_the_cli_installs_into_home_and_refuses_a_file_as_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("QGIS_CUSTOM_CONFIG_PATH", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert main(["qgis-plugin", "install"]) == 0
    out = capsys.readouterr().out
    assert str(default_profile()) in out and "runs: " in out
    assert (default_profile() / "python" / "plugins" / PLUGIN_NAME / "plugin.py").exists()
    assert main(["qgis-plugin", "uninstall"]) == 0
    assert "removed" in capsys.readouterr().out
    a_file = tmp_path / "profile.txt"
    a_file.write_text("x", encoding="utf-8")
    assert main(["qgis-plugin", "install", "--profile-dir", str(a_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"gridgen qgis-plugin: error: --profile-dir {a_file} is a file: give a QGIS profile folder"
    ]


def test_the_plugin_runs_on_the_python_qgis_ships() -> None:
    """Every module of the plugin compiles for Python 3.9 (QGIS' oldest supported) syntax."""
    import ast

    for path in PLUGIN_SOURCE.glob("*.py"):
        ast.parse(path.read_text("utf-8"), feature_version=(3, 9))
    metadata = (PLUGIN_SOURCE / "metadata.txt").read_text("utf-8")
    assert "qgisMinimumVersion=3.22" in metadata


def test_every_parameter_kind_has_a_definition_and_a_value() -> None:
    """params.py (QGIS-only, read as source here) handles every kind spec.py knows."""
    import ast

    from gridgen_cli.qgis_plugin.gridgen_processing.spec import KINDS

    tree = ast.parse((PLUGIN_SOURCE / "params.py").read_text("utf-8"))
    values = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "VALUES"
    )
    assert isinstance(values, ast.Dict)
    assert {k.value for k in values.keys if isinstance(k, ast.Constant)} == set(KINDS)
    source = (PLUGIN_SOURCE / "params.py").read_text("utf-8")
    for kind in KINDS:  # _make names every kind it builds (the rest are file destinations)
        assert f'"{kind}"' in source, kind
