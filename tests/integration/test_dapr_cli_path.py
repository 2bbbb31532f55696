"""`dapr run -f .` as the Dapr CLI 1.18 runs it: dapr.yaml and components/ rendered into the daprd
and app command lines, environments and working directories the CLI would use, started for real.

What the CLI does, from its source (github.com/dapr/cli v1.18.0):
- pkg/runfileconfig/run_file_config_parser.go (GetApps): paths in `common` resolve against the run
  file's directory, an app's against its appDirPath; `common`'s shared settings fill the apps' unset
  ones; resources: app's > <appDirPath>/.dapr/resources > common's; config file likewise.
- pkg/standalone/run.go: RunConfig/SharedRunConfig (flags from the `arg` tags in field order, the
  `default` tags, `ifneq`), Validate (placement localhost:50005, scheduler <host>:50006, free ports
  for unset ones), getArgs, getEnv (the app's environment: APP_ID, APP_PORT, DAPR_*_PORT, APP_PROTOCOL
  and the env: map), GetDaprCommand (daprd gets no env: map), GetAppCommand (sh -c 'exec "$@"').
- cmd/run.go: executeRun (scheduler defaults to "localhost"), startDaprdAndAppProcesses (both in
  appDirPath), startDaprdProcess (daprd's environment: the CLI's own plus DAPR_HOST_IP=127.0.0.1).

Stand-ins for what `dapr init` provides: Redis and the scheduler of devstack on free ports (the one
variable a shell sets is TASKBOARD_REDIS_HOST, for a Redis that is not on localhost:6379), and every
port of dapr.yaml moved to a free one, so this never collides with `make run` or another stack.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, eventually
import devstack

SHARED = (  # SharedRunConfig, in field order: (yaml key, daprd flag, default)
    ("configFilePath", "config", ""), ("appProtocol", "app-protocol", "http"),
    ("apiListenAddresses", "dapr-listen-addresses", ""), ("enableProfiling", "enable-profiling", False),
    ("logLevel", "log-level", ""), ("appMaxConcurrency", "app-max-concurrency", -1),
    ("placementHostAddress", "placement-host-address", None), ("resourcesPaths", "resources-path", []),
    ("appSSL", "app-ssl", False), ("maxBodySize", "max-body-size", "4Mi"),
    ("readBufferSize", "read-buffer-size", "4Ki"), ("enableAppHealthCheck", "enable-app-health-check", False),
    ("appHealthCheckPath", "app-health-check-path", ""), ("appHealthProbeInterval", "app-health-probe-interval", 0),
    ("appHealthProbeTimeout", "app-health-probe-timeout", 0), ("appHealthThreshold", "app-health-threshold", 0),
    ("enableApiLogging", "enable-api-logging", False), ("schedulerHostAddress", "scheduler-host-address", None),
)
APP = (  # RunConfig's own fields, in field order
    ("appID", "app-id", ""), ("appChannelAddress", "app-channel-address", ""), ("appPort", "app-port", -1),
    ("daprHTTPPort", "dapr-http-port", -1), ("daprGRPCPort", "dapr-grpc-port", -1),
    ("profilePort", "profile-port", -1), ("metricsPort", "metrics-port", -1),
    ("unixDomainSocket", "unix-domain-socket", ""), ("daprInternalGRPCPort", "dapr-internal-grpc-port", -1),
)
IFNEQ = {"app-channel-address": "127.0.0.1", "app-health-probe-interval": "0", "app-health-probe-timeout": "0",
         "app-health-threshold": "0"}
OTHER_KEYS = {"resourcesPath", "env", "appDirPath", "command", "daprdLogDestination", "appLogDestination"}
PORT_KEYS = ("appPort", "daprHTTPPort", "daprGRPCPort", "metricsPort", "daprInternalGRPCPort")


def absolute(path: Path) -> Path:
    """Go's filepath.Abs: cleaned, symlinks kept."""
    return Path(os.path.abspath(path))


@dataclass
class CliApp:
    app_id: str
    cwd: Path
    daprd_args: list[str]  # after the daprd binary
    app_argv: list[str]
    app_env: dict[str, str]  # on top of the shell's
    http_port: int
    app_port: int


def render(run_file_text: str, base_dir: Path) -> list[CliApp]:
    """The processes `dapr run -f <base_dir>` starts for this run file (see the module docstring)."""
    doc = yaml.safe_load(run_file_text)
    common = doc.get("common", {})
    known = {k for k, _, _ in SHARED + APP} | OTHER_KEYS
    assert set(common) <= known and all(set(a) <= known for a in doc["apps"]), "a key this renderer does not know"
    if common.get("resourcesPath"):
        common["resourcesPaths"] = [*common.get("resourcesPaths", []), common["resourcesPath"]]
    common["resourcesPaths"] = [str(absolute(base_dir / p)) for p in common.get("resourcesPaths", [])]
    if common.get("configFilePath"):
        common["configFilePath"] = str(absolute(base_dir / common["configFilePath"]))
    out = []
    for app in doc["apps"]:
        app_dir = absolute(base_dir / app["appDirPath"])
        assert app_dir.is_dir(), f"the CLI refuses a missing appDirPath: {app_dir}"
        assert not (app_dir / ".dapr").exists(), "<appDirPath>/.dapr/ would take precedence"
        if app.get("resourcesPath"):
            app["resourcesPaths"] = [*app.get("resourcesPaths", []), app["resourcesPath"]]
        if app.get("resourcesPaths"):
            app["resourcesPaths"] = [str(absolute(app_dir / p)) for p in app["resourcesPaths"]]
        if app.get("configFilePath"):
            app["configFilePath"] = str(absolute(app_dir / app["configFilePath"]))
        cfg = {key: default for key, _, default in SHARED + APP}
        cfg.update({k: v for k, v in common.items() if v not in (None, "", [], 0, False)})
        cfg.update({k: v for k, v in app.items() if v not in (None, "", [], 0, False)})
        cfg["placementHostAddress"] = cfg["placementHostAddress"] if cfg["placementHostAddress"] is not None \
            else "localhost:50005"
        sched = cfg["schedulerHostAddress"] or "localhost"
        cfg["schedulerHostAddress"] = sched if ":" in sched else sched + ":50006"
        cfg["appPort"] = max(cfg["appPort"], 0)
        for key in ("daprHTTPPort", "daprGRPCPort", "metricsPort", "daprInternalGRPCPort"):
            if cfg[key] <= 0:
                cfg[key] = devstack.free_port()
        if cfg["appMaxConcurrency"] < 1:
            cfg["appMaxConcurrency"] = -1
        args = []
        for key, flag, _ in SHARED + APP:
            value = cfg[key]
            if isinstance(value, bool):
                args += [f"--{flag}"] if value else []
            elif isinstance(value, list):
                for item in value:
                    args += [f"--{flag}", item]
            elif value is not None and str(value) != "" and str(value) != IFNEQ.get(flag):
                args += [f"--{flag}", str(value)]
        app_env = {"APP_ID": cfg["appID"], "APP_CHANNEL_ADDRESS": cfg["appChannelAddress"]}
        app_env.update({name: str(cfg[key]) for name, key in (
            ("APP_PORT", "appPort"), ("DAPR_HTTP_PORT", "daprHTTPPort"), ("DAPR_GRPC_PORT", "daprGRPCPort"),
            ("DAPR_METRICS_PORT", "metricsPort")) if cfg[key] > 0})
        app_env["APP_PROTOCOL"] = cfg["appProtocol"]
        app_env.update({k: str(v) for k, v in {**common.get("env", {}), **app.get("env", {})}.items()})
        out.append(CliApp(cfg["appID"], app_dir, args, ["sh", "-c", 'exec "$@"', "sh", *app["command"]],
                          app_env, cfg["daprHTTPPort"], cfg["appPort"]))
    return out


def make_checkout(root: Path, free_ports: bool) -> Path:
    """A checkout of this repo at ``root`` (links), prepared with `make prepare`'s command; dapr.yaml's
    ports moved to free ones when ``free_ports``."""
    root.mkdir()
    for name in ("components", ".venv", "gunicorn.conf.py", "wsgi.py", "webapp", "templates", "static"):
        (root / name).symlink_to(ROOT / name)
    text = (ROOT / "dapr.yaml").read_text()
    if free_ports:
        doc = yaml.safe_load(text)
        ports = {a[k] for a in doc["apps"] for k in PORT_KEYS if k in a} | {
            int(v) for a in doc["apps"] for k, v in a.get("env", {}).items() if k.endswith("PORT")}
        for port in ports:
            text = re.sub(rf"(?<![0-9]){port}(?![0-9])", str(devstack.free_port()), text)
    (root / "dapr.yaml").write_text(text)
    make_prepare = re.search(r"^prepare:.*\n\t@\$\(PY\) (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    subprocess.run([sys.executable, *make_prepare.split(), "--run-dir", str(root / ".run")], cwd=ROOT, check=True)
    return root


def test_the_run_file_renders_to_the_flags_of_make_run(tmp_path):
    """The CLI path and `make run` configure the sidecars alike (same ports, limits, health checks)."""
    checkout = make_checkout(tmp_path / "checkout", free_ports=False)
    apps = {a.app_id: a for a in render((checkout / "dapr.yaml").read_text(), checkout)}
    assert set(apps) == set(devstack.APPS)
    for app_id, ports in devstack.Ports.default().apps.items():
        args = apps[app_id].daprd_args
        flags = {a: b for a, b in zip(args, args[1:]) if a.startswith("--") and not b.startswith("--")}
        assert apps[app_id].cwd == checkout / ".run"
        assert (flags["--app-port"], flags["--dapr-http-port"], flags["--dapr-grpc-port"],
                flags["--dapr-internal-grpc-port"], flags["--metrics-port"]) == \
            tuple(map(str, (ports.app, ports.http, ports.grpc, ports.internal, ports.metrics)))
        assert apps[app_id].app_env["TASKBOARD_METRICS_PORT"] == str(ports.app_metrics)
        assert flags["--resources-path"] == str(checkout / "components")
        assert flags["--config"] == str(checkout / "components/config.yaml")
        assert flags["--app-max-concurrency"] == "4" and flags["--app-health-check-path"] == "/healthz"
        assert "--enable-app-health-check" in args and flags["--scheduler-host-address"] == "localhost:50006"
        assert f"127.0.0.1:{ports.app}" in apps[app_id].app_argv and devstack.APPS[app_id] in apps[app_id].app_argv


def scoped_components(app_id: str) -> set[tuple[str, str]]:
    out = set()
    for path in sorted((ROOT / "components").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Component" and app_id in doc.get("scopes", [app_id]):
                out.add((doc["metadata"]["name"], doc["spec"]["type"]))
    return out


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def diagnosis(url: str, run_dir: Path, apps: list[CliApp]) -> str:
    """What a failed invocation leaves to read: its last answer, the name resolution table, the sidecars' logs."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            answer = f"{resp.status} {resp.read()[:500]!r}"
    except urllib.error.HTTPError as exc:
        answer = f"{exc.code} {exc.read()[:500]!r}"
    except OSError as exc:
        answer = repr(exc)
    try:
        with sqlite3.connect(run_dir / "nameresolution.db", timeout=5) as db:
            hosts = db.execute("SELECT app_id, address, strftime('%s', 'now') - last_update FROM hosts").fetchall()
    except sqlite3.Error as exc:  # e.g. no table: no sidecar got through the component's migration
        hosts = repr(exc)
    logs = "\n".join(f"--- daprd-{a.app_id}.log\n" + "\n".join(
        (run_dir / "logs" / f"daprd-{a.app_id}.log").read_text(errors="replace").splitlines()[-40:]) for a in apps)
    return f"last answer from {url}: {answer}\nhosts (app_id, address, age s): {hosts}\n{logs}"


@pytest.fixture
def cli_checkout(tmp_path):
    """A prepared checkout on free ports, and the infrastructure `dapr init` would provide (Redis,
    scheduler) on free ports too."""
    checkout = make_checkout(tmp_path / "checkout", free_ports=True)
    infra = devstack.Stack(tmp_path / "infra", devstack.Ports.free(), stack="redis")  # dapr.yaml: the Redis set
    infra.start_infrastructure()
    yield checkout, infra
    infra.stop()


def test_dapr_run_f_starts_both_sidecars_with_all_their_components(cli_checkout):
    checkout, infra = cli_checkout
    apps = render((checkout / "dapr.yaml").read_text(), checkout)
    shell = {k: v for k, v in os.environ.items() if not k.startswith(("TASKBOARD_", "DAPR_", "APP_", "GUNICORN_"))}
    shell["TASKBOARD_REDIS_HOST"] = f"localhost:{infra.ports.redis}"  # dapr init's is localhost:6379
    # dapr init starts no mail server: the shell names one (here the infrastructure's Mailpit) for notify-email
    shell.update({"TASKBOARD_SMTP_HOST": "127.0.0.1", "TASKBOARD_SMTP_PORT": str(infra.ports.mail_smtp)})
    # nor notify-email's pluggable component: it runs first (dapr.yaml), here in the checkout's own socket folder
    sockets = checkout / ".run" / "sockets"
    infra.start_mail_component("mail-component", sockets)
    shell["DAPR_COMPONENTS_SOCKETS_FOLDER"] = str(sockets)
    procs: dict[str, subprocess.Popen] = {}
    logs = checkout / ".run" / "logs"
    try:
        for app in apps:  # as executeRun: daprd, then the app, per app in file order
            args = [a.replace("localhost:50006", f"localhost:{infra.ports.scheduler}") for a in app.daprd_args]
            procs[f"daprd-{app.app_id}"] = subprocess.Popen(
                [str(infra.dapr_bin / "daprd"), *args], cwd=app.cwd, env={**shell, "DAPR_HOST_IP": "127.0.0.1"},
                stdout=open(logs / f"daprd-{app.app_id}.log", "wb"), stderr=subprocess.STDOUT)
            procs[app.app_id] = subprocess.Popen(
                app.app_argv, cwd=app.cwd, env={**shell, **app.app_env},
                stdout=open(logs / f"{app.app_id}.log", "wb"), stderr=subprocess.STDOUT)

        def alive():
            dead = {name: p.returncode for name, p in procs.items() if p.poll() is not None}
            assert not dead, f"exited: {dead}\n" + "\n".join(
                (logs / f"{name}.log").read_text(errors="replace")[-3000:] for name in dead)
            return True

        for app in apps:
            eventually(lambda a=app: alive() and devstack.Stack._http_ok(f"http://127.0.0.1:{a.app_port}/readyz"),
                       timeout=90)
            loaded = eventually(lambda a=app: alive() and get_json(f"http://127.0.0.1:{a.http_port}/v1.0/metadata"),
                                timeout=30)
            assert {(c["name"], c["type"]) for c in loaded["components"]} == scoped_components(app.app_id)
        time.sleep(3)
        assert alive()
        # Each app reachable through the other's sidecar (name resolution in the run directory).
        first, second = apps
        for caller, callee in ((first, second), (second, first)):
            url = f"http://127.0.0.1:{caller.http_port}/v1.0/invoke/{callee.app_id}/method/healthz"
            try:
                eventually(lambda u=url: alive() and devstack.Stack._http_ok(u), timeout=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{diagnosis(url, checkout / '.run', apps)}") from None
        assert (checkout / ".run" / "nameresolution.db").exists()
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
