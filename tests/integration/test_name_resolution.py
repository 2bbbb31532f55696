"""Name resolution in a run directory (components/config.yaml: SQLite's nameresolution.db), with the
real daprd: what `make run` and `dapr run -f .` rely on to find notification-service by its app-id.

Two settings there are not the component's defaults, and each test here shows why:
- busyTimeout: daprd 1.18 runs the component's migrations in BEGIN EXCLUSIVE when it starts; a second
  sidecar starting meanwhile (`dapr run -f .` starts both at once) waits only 800 ms by default, then
  logs INIT_COMPONENT_FAILURE and keeps running with no name resolution, so every invocation fails.
- cleanupInterval "0": the component's garbage collector deletes the rows renewed within the last
  updateInterval (contrib 1.18: `now - last_update < interval`), i.e. the live ones, and every sidecar
  then exits with "Host registration lost" (the first run is an hour after start by default).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, eventually
import devstack


@pytest.fixture(scope="module")
def daprd_bin() -> Path:
    return devstack.provision(redis=False) / "daprd"


class Sidecar:
    """A daprd with the given Configuration and no components, run in ``run_dir`` (as under `make run`),
    started and stopped by the stack's own process handling."""

    def __init__(self, processes: devstack.Processes, daprd: Path, run_dir: Path, config: Path,
                 app_id: str = "taskboard"):
        self.run_dir, self.app_id = run_dir, app_id
        self.internal_port = devstack.free_port()
        (run_dir / "no-components").mkdir(exist_ok=True)
        name = f"daprd-{app_id}-{len(processes.procs)}"
        self.log = processes.logs_dir / f"{name}.log"
        self.proc = processes.spawn(
            name, [str(daprd), "--app-id", app_id, "--config", str(config),
                   "--resources-path", str(run_dir / "no-components"),
                   "--dapr-http-port", str(devstack.free_port()), "--dapr-grpc-port", str(devstack.free_port()),
                   "--dapr-internal-grpc-port", str(self.internal_port), "--metrics-port", str(devstack.free_port()),
                   "--placement-host-address", "", "--scheduler-host-address", ""],
            env={"DAPR_HOST_IP": "127.0.0.1"}, cwd=run_dir)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.internal_port}"

    def registered(self) -> bool:
        """Whether its row is in the run directory's hosts table."""
        try:
            with sqlite3.connect(self.run_dir / "nameresolution.db", timeout=5) as db:
                rows = db.execute("SELECT app_id FROM hosts WHERE address = ?", (self.address,)).fetchall()
        except sqlite3.OperationalError:  # no table yet
            return False
        return rows == [(self.app_id,)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def sidecars(daprd_bin, tmp_path):
    (tmp_path / "logs").mkdir()
    processes = devstack.Processes(tmp_path / "logs")

    def start(config: Path = ROOT / "components" / "config.yaml") -> Sidecar:
        return Sidecar(processes, daprd_bin, tmp_path, config)

    yield start
    processes.stop()


def test_a_sidecar_waits_for_the_name_resolution_database_another_has_locked(sidecars, tmp_path):
    # What a first sidecar's migration looks like to the second: the database held exclusively.
    holder = sqlite3.connect(tmp_path / "nameresolution.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    sidecar = sidecars()
    time.sleep(2.5)  # three times the component's default wait
    assert not sidecar.registered()
    holder.execute("COMMIT")
    holder.close()
    eventually(lambda: sidecar.proc.poll() is None and sidecar.registered(), timeout=30)
    eventually(lambda: "Initialized name resolution to sqlite" in sidecar.log_text(), timeout=10)
    assert "INIT_COMPONENT_FAILURE" not in sidecar.log_text()


def test_the_name_resolution_database_is_not_garbage_collected(sidecars):
    sidecar = sidecars()
    eventually(sidecar.registered, timeout=30)
    # Logged once the resolver's Init returned, after it would have scheduled its collector.
    eventually(lambda: "Initialized name resolution to sqlite" in sidecar.log_text(), timeout=10)
    assert "clean up" not in sidecar.log_text()  # contrib logs "Schedule expired data clean up every <interval>"


def test_the_components_garbage_collector_would_remove_live_sidecars(sidecars, tmp_path):
    """Why cleanupInterval is "0": with the collector on (every 2 s here, hourly by default) the live
    sidecar's own row is deleted and it exits. If a later daprd fixes this, this test fails: the setting
    can then go."""
    config = yaml.safe_load((ROOT / "components" / "config.yaml").read_text())
    config["spec"]["nameResolution"]["configuration"]["cleanupInterval"] = "2s"
    path = tmp_path / "config-with-gc.yaml"
    path.write_text(yaml.safe_dump(config))
    sidecar = sidecars(path)
    eventually(sidecar.registered, timeout=30)
    eventually(lambda: sidecar.proc.poll() is not None, timeout=30)
    eventually(lambda: "Host registration lost" in sidecar.log_text(), timeout=10)  # the log is written by a thread
