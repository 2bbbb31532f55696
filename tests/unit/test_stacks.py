"""The data-tier switch's pure parts: which stack, which component files, which server settings."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import devstack_data as data  # noqa: E402
from devstack_processes import Processes, StackError  # noqa: E402


def loaded(directory: Path) -> dict[str, dict]:
    """What daprd loads from a resources directory (its *.yaml files, not subdirectories): {name: doc}."""
    docs = [d for p in sorted(directory.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]
    names = [d["metadata"]["name"] for d in docs]
    assert len(names) == len(set(names)), f"a component name twice in {directory}: {names}"
    return {d["metadata"]["name"]: d for d in docs}


def test_the_switch_defaults_to_redis_and_refuses_an_unknown_stack(monkeypatch):
    monkeypatch.delenv("TASKBOARD_STACK", raising=False)
    assert data.stack_name() == "redis"
    monkeypatch.setenv("TASKBOARD_STACK", "postgres-kafka")
    assert data.stack_name() == "postgres-kafka" and data.stack_name("redis") == "redis"
    monkeypatch.setenv("TASKBOARD_STACK", "mongo")
    with pytest.raises(StackError, match="unknown TASKBOARD_STACK 'mongo'"):
        data.stack_name()


def test_the_redis_set_is_components_itself(tmp_path):
    assert data.components_dir("redis", tmp_path) == ROOT / "components"
    assert not list(tmp_path.iterdir())


def test_the_postgres_kafka_set_swaps_only_the_state_store_and_the_broker(tmp_path):
    redis_set = loaded(ROOT / "components")
    second = loaded(data.components_dir("postgres-kafka", tmp_path))
    assert set(second) == set(redis_set)
    changed = {name for name in second if second[name] != redis_set[name]}
    assert changed == {"statestore", "pubsub"}
    assert (second["statestore"]["spec"]["type"], second["pubsub"]["spec"]["type"]) == \
        ("state.postgresql", "pubsub.kafka")
    everything = yaml.safe_dump(list(second.values()))
    assert "redis" not in everything.lower(), "the postgres-kafka set must not need Redis"
    assert (data.components_dir("postgres-kafka", tmp_path) / "config.yaml").exists()  # daprd's --config


def test_the_servers_listen_on_loopback_only(tmp_path):
    argv = data.postgres_argv(Path("/usr/lib/postgresql/15/bin"), tmp_path, 5433)
    assert "listen_addresses=127.0.0.1" in argv and argv[argv.index("-p") + 1] == "5433"
    props = dict(line.split("=", 1) for line in data.kafka_properties(tmp_path, 9092, 9093).splitlines() if line)
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["process.roles"] == "broker,controller" and "zookeeper.connect" not in props
    assert data.postgres_connection(5433).startswith("host=127.0.0.1 port=5433 ")


def test_postgresql_acknowledges_a_commit_only_once_its_wal_is_written(tmp_path):
    """A killed server must lose nothing it acknowledged (R2 lost a handled event with synchronous_commit=off)."""
    argv = data.postgres_argv(Path("/usr/lib/postgresql/15/bin"), tmp_path, 5433)
    settings = {argv[i + 1].split("=", 1)[0]: argv[i + 1].split("=", 1)[1] for i, a in enumerate(argv) if a == "-c"}
    assert settings.get("synchronous_commit", "on") == "on"


def test_a_process_is_stopped_with_its_own_signal(tmp_path):
    """PostgreSQL is stopped with SIGINT ("fast": down at once), not SIGTERM ("smart": waits for daprd's pool)."""
    trap = ("import signal, sys, time\n"
            "for s in (signal.SIGINT, signal.SIGTERM):\n"
            "    signal.signal(s, lambda n, f: (print(signal.Signals(n).name, flush=True), sys.exit(0)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n")
    procs = Processes(tmp_path)
    log = tmp_path / "server.log"
    procs.spawn("server", [sys.executable, "-c", trap], env={}, cwd=tmp_path, stop_signal=signal.SIGINT)
    procs.wait_until("ready", lambda: "ready" in log.read_text(), timeout=10, proc_name="server")
    procs.stop("server")
    time.sleep(0.2)  # the log pump's last line
    assert log.read_text().split() == ["ready", "SIGINT"]


def test_a_kafka_cluster_id_is_never_read_as_an_option(monkeypatch):
    ids = iter([bytes([0xF8]) + bytes(15), bytes(16)])  # the first encodes to "-A...", the second to "AAA..."
    monkeypatch.setattr(data.uuid, "uuid4", lambda: type("U", (), {"bytes": next(ids)})())
    cluster_id = data.kafka_cluster_id()
    assert cluster_id == "A" * 22
