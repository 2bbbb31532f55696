"""The part of devstack.Stack that starts, stops and reads the data tier's servers: Redis for the
``redis`` stack, PostgreSQL and Kafka for ``postgres-kafka`` (devstack_data says what each runs)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import devstack_commands as commands
import devstack_data as data
from devstack_ports import port_open
from devstack_processes import StackError
from devstack_provision import ROOT


class DataTier:
    """Mixed into Stack: ``stack_name``, ``ports``, ``run_dir``, ``processes`` and ``_wait`` come from it."""

    postgres_bin: Path | None = None
    kafka_libs: Path | None = None

    def servers(self) -> tuple[str, ...]:
        """The data tier's process names, in start order."""
        return data.STACKS[self.stack_name]

    @property
    def state_server(self) -> str:
        """The process behind the state store (what an outage test stops): redis or postgres."""
        return self.servers()[0]

    @property
    def broker_server(self) -> str:
        """The process behind pub/sub: redis or kafka."""
        return self.servers()[-1]

    def provision_servers(self) -> None:
        """Find or install the servers of this stack (Redis is provisioned with the Dapr runtime)."""
        if "postgres" in self.servers() and self.postgres_bin is None:
            self.postgres_bin = data.provision_postgres()
        if "kafka" in self.servers() and self.kafka_libs is None:
            self.kafka_libs = data.provision_kafka()

    def tier_env(self) -> dict[str, str]:
        """What the components of this stack read from daprd's environment: the servers' addresses."""
        p = self.ports
        if self.stack_name == "redis":
            return {"TASKBOARD_REDIS_HOST": f"127.0.0.1:{p.redis}", "TASKBOARD_REDIS_PASSWORD": ""}
        return {"TASKBOARD_POSTGRES_CONNECTION": data.postgres_connection(p.postgres),
                "TASKBOARD_KAFKA_BROKERS": f"127.0.0.1:{p.kafka}"}

    def start_servers(self) -> None:
        """Start each server of this stack and wait until it answers."""
        self.provision_servers()
        for name in self.servers():
            self.start_server(name)

    def start_server(self, name: str) -> None:
        {"redis": self._start_redis, "postgres": self._start_postgres, "kafka": self._start_kafka}[name]()

    def _free(self, port: int, what: str) -> None:
        if port_open(port):
            raise StackError(f"port {port} ({what}) is already in use: is another stack running?")

    def _start_redis(self) -> None:
        port = self.ports.redis
        self._free(port, "Redis")
        store = self.run_dir / "redis"
        store.mkdir(exist_ok=True)
        self.say(f"starting redis on 127.0.0.1:{port}")
        self.processes.spawn("redis", commands.redis_argv(port, store), env={}, cwd=ROOT)
        self._wait("redis", lambda: port_open(port), timeout=20, proc_name="redis")

    def _start_postgres(self) -> None:
        port, store, user = self.ports.postgres, self.run_dir / "postgres", data.server_user()
        self._free(port, "PostgreSQL")
        started = time.monotonic()
        first = not (store / "PG_VERSION").exists()
        data.init_postgres(self.postgres_bin, store, user)
        self.say(f"starting postgresql on 127.0.0.1:{port}" + (f" as {user}" if user else ""))
        # SIGINT is PostgreSQL's "fast" shutdown: open sessions (daprd's pool) are ended and the server is down
        # at once, cleanly. SIGTERM ("smart") would wait for them (15 s, then a kill).
        self.processes.spawn("postgres", data.as_user(user) + data.postgres_argv(self.postgres_bin, store, port),
                             env={}, cwd=store, stop_signal=signal.SIGINT)
        self._wait("postgres", lambda: port_open(port), timeout=60, proc_name="postgres")
        if first:
            self._wait("the taskboard database", lambda: self._create_database(port), timeout=30,
                       proc_name="postgres")
        self.say(f"postgresql ready in {time.monotonic() - started:.1f}s")

    def _create_database(self, port: int) -> bool:
        try:
            data.create_database(self.postgres_bin, port)
        except StackError:
            return False  # accepting connections shortly after the port opens
        return True

    def _start_kafka(self) -> None:
        p, store = self.ports, self.run_dir / "kafka"
        self._free(p.kafka, "Kafka")
        started = time.monotonic()
        config = data.init_kafka(self.kafka_libs, store, p.kafka, p.kafka_controller)
        self.say(f"starting kafka on 127.0.0.1:{p.kafka} (KRaft controller {p.kafka_controller})")
        self.processes.spawn("kafka", data.kafka_argv(self.kafka_libs, store, config), env={}, cwd=store)
        self._wait("kafka", lambda: port_open(p.kafka), timeout=120, proc_name="kafka")
        self.say(f"kafka ready in {time.monotonic() - started:.1f}s")

    def ttl_of(self, key: str, app_id: str = "taskboard") -> int:
        """Seconds until a state key expires (-1: never, -2: no such key), read from the store itself."""
        stored = f"{app_id}||{key}"  # Dapr prefixes keys with the app-id
        if self.stack_name == "redis":
            out = subprocess.run(["redis-cli", "-p", str(self.ports.redis), "TTL", stored],
                                 capture_output=True, text=True, check=True)
            return int(out.stdout.strip())
        row = data.psql(self.postgres_bin, self.ports.postgres,
                        "SELECT coalesce(ceil(extract(epoch FROM expires_at - now()))::int, -1) "
                        f"FROM {data.TABLE_PREFIX}state WHERE key = '{stored}' "
                        "AND (expires_at IS NULL OR expires_at > now())")
        return int(row) if row else -2
