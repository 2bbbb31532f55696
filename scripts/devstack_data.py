"""The stack's data tier, chosen by one switch: ``TASKBOARD_STACK=redis`` (the default) or ``postgres-kafka``.

    redis           Redis: state.redis + pubsub.redis (components/*.yaml as they are)
    postgres-kafka  PostgreSQL (Debian's, a private cluster) + Apache Kafka (KRaft, Maven Central's jars):
                    components/*.yaml with components/postgres-kafka/*.yaml in place of the files
                    of the same component name (statestore, pubsub); no Redis process at all

The app is the same on both: only the component YAML and the servers differ. Here: each set's
component directory, the servers' provisioning, command lines and one-time initialisation.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import subprocess
import uuid
from pathlib import Path

import yaml

from devstack_processes import StackError
from devstack_provision import ROOT

STACKS = {
    "redis": ("redis",),
    "postgres-kafka": ("postgres", "kafka"),
}  # stack name: its server processes, in start order
DEFAULT_STACK = "redis"
OVERRIDES = ROOT / "components" / "postgres-kafka"  # the second set's files (statestore, pubsub)
POSTGRES_USER = "postgres"  # Debian's system user of the postgresql package: the server refuses root
DATABASE = "taskboard"
TABLE_PREFIX = "taskboard_"  # components/postgres-kafka/statestore.yaml's tablePrefix


def stack_name(name: str | None = None) -> str:
    """``name``, else $TASKBOARD_STACK, else redis; StackError for an unknown one."""
    name = name or os.environ.get("TASKBOARD_STACK") or DEFAULT_STACK
    if name not in STACKS:
        raise StackError(f"unknown TASKBOARD_STACK {name!r}: one of {', '.join(STACKS)}")
    return name


def _component_name(path: Path) -> str:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs[0]["metadata"]["name"] if docs else path.name


def components_dir(stack: str, run_dir: Path) -> Path:
    """The resources directory daprd loads for ``stack``: components/ itself for redis; for
    postgres-kafka, a copy in the run directory with components/postgres-kafka/ replacing its namesakes."""
    base = ROOT / "components"
    if stack == DEFAULT_STACK:
        return base
    target = run_dir / f"components-{stack}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    overrides = {_component_name(p): p for p in sorted(OVERRIDES.glob("*.yaml"))}
    for path in sorted(base.glob("*.yaml")):
        if _component_name(path) not in overrides:
            shutil.copy(path, target / path.name)
    for path in overrides.values():
        shutil.copy(path, target / path.name)
    return target


# -- provisioning --------------------------------------------------------------

def _script_output(script: str) -> Path:
    out = subprocess.run(["bash", str(ROOT / "scripts" / script)], check=False, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise StackError(f"scripts/{script} failed (see messages above)")
    return Path(out.stdout.strip().splitlines()[-1])


def provision_postgres() -> Path:
    """Debian's PostgreSQL programs' directory (installed when missing)."""
    return _script_output("ensure-postgresql.sh")


def provision_kafka() -> Path:
    """The pinned Kafka's jar directory (downloaded from Maven Central on first use)."""
    return _script_output("provision-kafka.sh")


def server_user() -> str | None:
    """Who runs PostgreSQL: ``postgres`` when we are root (the server refuses root), else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError as err:
        raise StackError(f"running as root and there is no {POSTGRES_USER!r} user to run PostgreSQL as "
                         "(Debian's postgresql package creates it)") from err
    return POSTGRES_USER


# -- PostgreSQL ----------------------------------------------------------------

def init_postgres(bin_dir: Path, data: Path, user: str | None) -> None:
    """``initdb`` a private cluster in ``data`` once (trust on loopback only; its owner is ``user``)."""
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    if user:
        _let_reach(data, user)
    argv = [str(bin_dir / "initdb"), "-D", str(data), "-U", DATABASE, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync"]
    out = subprocess.run(as_user(user) + argv, capture_output=True, text=True, cwd=data)
    if out.returncode != 0:
        raise StackError(f"initdb failed: {out.stderr or out.stdout}")


def as_user(user: str | None) -> list[str]:
    """The argv prefix that runs a command as ``user`` with its own group only (not root's: a directory's
    group bits would apply to root's group before its "other" bits). util-linux's setpriv switches after
    the exec: Popen's own user/group arguments make it fork() (never vfork) in this multi-threaded process,
    and a forked child ran gRPC's fork handlers and crashed (SIGSEGV) before PostgreSQL started."""
    if not user:
        return []
    entry = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]


def _let_reach(data: Path, user: str) -> None:
    """Give ``data`` to ``user`` and let it traverse the directories above that we own (temporary run
    directories are private: mode 0700); never the home directory. StackError if it still cannot."""
    shutil.chown(data, user)
    home = Path.home().resolve()
    for parent in data.resolve().parents:
        info = parent.stat()
        if parent == home or info.st_uid != os.geteuid() or info.st_mode & 0o001:
            continue
        os.chmod(parent, info.st_mode | 0o001)  # search only: the names inside stay unreadable
    probe = subprocess.run(as_user(user) + ["test", "-w", str(data)])
    if probe.returncode != 0:
        raise StackError(f"PostgreSQL runs as {user}, who cannot reach {data}: use a run directory "
                         "outside private directories (e.g. under /tmp)")


def postgres_argv(bin_dir: Path, data: Path, port: int) -> list[str]:
    """The server in the foreground (the stack supervises it): loopback TCP, its socket in its data directory.

    A commit is acknowledged once its WAL is written (synchronous_commit's default): the server's process
    killed loses nothing acknowledged (with synchronous_commit=off, the fault suite's R2 lost a handled
    event's commit in a crash). No fsync, like the local Redis: only an OS crash could lose the last writes
    of this dev and test server. max_connections covers four sidecars' pools (maxConns 20 in
    components/postgres-kafka/statestore.yaml)."""
    return [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={data}", "-c", "max_connections=200", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "log_min_messages=warning"]


def create_database(bin_dir: Path, port: int) -> None:
    """The ``taskboard`` database, once (the cluster's first start)."""
    conn = ["-h", "127.0.0.1", "-p", str(port), "-U", DATABASE]
    probe = subprocess.run([str(bin_dir / "psql"), *conn, "-d", "postgres", "-tAc",
                            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                           capture_output=True, text=True)
    if probe.returncode == 0 and probe.stdout.strip() == "1":
        return
    out = subprocess.run([str(bin_dir / "createdb"), *conn, DATABASE], capture_output=True, text=True)
    if out.returncode != 0:
        raise StackError(f"createdb {DATABASE} failed: {out.stderr}")


def postgres_connection(port: int) -> str:
    """What state.postgresql's connectionString gets (TASKBOARD_POSTGRES_CONNECTION)."""
    return f"host=127.0.0.1 port={port} user={DATABASE} dbname={DATABASE} sslmode=disable connect_timeout=2"


def psql(bin_dir: Path, port: int, sql: str) -> str:
    """One query's unaligned output (tests read TTLs with it)."""
    out = subprocess.run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", DATABASE,
                          "-d", DATABASE, "-tAc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# -- Kafka -----------------------------------------------------------------------

LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
"""


def kafka_properties(data: Path, port: int, controller_port: int) -> str:
    """server.properties of a single KRaft node (broker and controller), topics created on first use.

    Four partitions per topic: each partition is consumed one message at a time, so this bounds how
    many deliveries an app-id's consumer group handles at once (daprd's --app-max-concurrency is 4)."""
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={data / 'logs'}",
        "num.partitions=4",
        "auto.create.topics.enable=true",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "log.retention.hours=24",
        "",
    ])


def java_argv(libs: Path, data: Path, main: str, *args: str, quick: bool = False) -> list[str]:
    """A Kafka main class on the cached jars, with its log4j2 configuration (``quick``: a short-lived
    tool, compiled by C1 only, which starts faster on two busy cores)."""
    return ["java", "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            *(["-XX:TieredStopAtLevel=1"] if quick else []),
            f"-Dlog4j2.configurationFile={data / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={data / 'server-logs'}", "-cp", f"{libs}/*", main, *args]


def kafka_cluster_id() -> str:
    """A random cluster id as Kafka writes one (URL-safe base64 of 16 bytes), never starting with "-":
    the storage tool would read that as an option (Kafka's own Uuid.randomUuid() skips those too)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def init_kafka(libs: Path, data: Path, port: int, controller_port: int) -> Path:
    """Write server.properties (ports may change between starts) and format the storage once."""
    data.mkdir(parents=True, exist_ok=True)
    config = data / "server.properties"
    config.write_text(kafka_properties(data, port, controller_port))
    (data / "log4j2.properties").write_text(LOG4J2)
    if not (data / "logs" / "meta.properties").exists():
        cluster_id = kafka_cluster_id()
        out = subprocess.run(java_argv(libs, data, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                                       "-c", str(config), quick=True), capture_output=True, text=True)
        if out.returncode != 0:
            raise StackError(f"formatting Kafka's storage failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return config


def kafka_argv(libs: Path, data: Path, config: Path) -> list[str]:
    return java_argv(libs, data, "kafka.Kafka", str(config))
