"""The image: deploy/Dockerfile passes hadolint, is pinned, slim and non-root, its build context
(.dockerignore) holds only what it copies, and the files it copies are enough to start both apps."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys

import yaml

from .conftest import DEPLOY, ROOT
from .manifests import APPS, app_deployments, container, dockerfile_instructions, dockerfile_user


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """.dockerignore as (negated, regex), with Docker's semantics (filepath.Match plus **)."""
    out = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i:end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        out.append((negated, re.compile(regex)))
    return out


def ignored(path: str, patterns) -> bool:
    """Whether the build context leaves out `path` (relative, POSIX): the last matching pattern wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for negated, regex in patterns:
        if any(regex.fullmatch(c) for c in candidates):
            result = not negated
    return result


def test_dockerfile_passes_hadolint(tools):
    proc = subprocess.run([str(tools["HADOLINT"]), "--no-color", str(DEPLOY / "Dockerfile")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_is_pinned_slim_non_root_and_serves_both_apps(rendered):
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for ins, a in instructions if ins == "ARG" and "=" in a)
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0]) for ins, a in instructions if ins == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.11\.[0-9]+-slim-bookworm(@sha256:[0-9a-f]{64})?", b) for b in bases), bases
    assert dockerfile_user() >= 1000
    cmd = [a for ins, a in instructions if ins == "CMD"][-1]
    assert yaml.safe_load(cmd) == ["gunicorn", "-c", "gunicorn.conf.py", APPS["taskboard"]]
    runs = " ".join(a for ins, a in instructions if ins == "RUN")
    assert "-r /tmp/requirements.txt" in runs
    copied = {src.rstrip("/") for ins, a in instructions if ins == "COPY" and "--from" not in a
              for src in a.split()[:-1]}
    assert {"requirements.txt", "webapp", "templates", "static", "wsgi.py", "gunicorn.conf.py"} <= copied
    # Both Deployments run this image's files with the commands the Dockerfile expects.
    for dep in app_deployments(rendered["prod"]).values():
        assert container(dep)["command"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]


def test_dockerignore_keeps_the_context_to_what_the_image_copies():
    patterns = dockerignore_patterns()
    for path in (".venv", ".run", "tests", "test-artifacts", ".git", "tools", "bench", "scripts", "components",
                 "deploy", ".run/secrets.json", "webapp/__pycache__/x.cpython-311.pyc", "requirements-dev.txt"):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"
    for path in ("requirements.txt", "wsgi.py", "gunicorn.conf.py", "webapp/__init__.py",
                 "webapp/notification_service/__init__.py", "templates/base.html", "static/style.css"):
        assert not ignored(path, patterns), f"{path} is needed by the image but ignored"


def test_image_files_start_both_apps(rendered, tmp_path):
    """Stage exactly what the Dockerfile copies (after .dockerignore) and load each app with
    `gunicorn --check-config`, using the environment of the prod Deployments."""
    patterns = dockerignore_patterns()
    workdir = [a for ins, a in dockerfile_instructions() if ins == "WORKDIR"][-1]
    app_dir = tmp_path / workdir.lstrip("/")
    app_dir.mkdir(parents=True)
    for ins, args in dockerfile_instructions():
        if ins != "COPY" or "--from" in args:
            continue
        *sources, dest = [a for a in args.split() if not a.startswith("--")]
        if dest.startswith("/"):
            continue  # outside the app directory (requirements.txt for the build stage)
        for src in sources:
            src_path = ROOT / src.rstrip("/")
            files = [src_path] if src_path.is_file() else [p for p in src_path.rglob("*") if p.is_file()]
            for f in files:
                rel = f.relative_to(ROOT).as_posix()
                if ignored(rel, patterns):
                    continue
                inner = f.name if src_path.is_file() else f.relative_to(src_path).as_posix()
                target = app_dir / dest / inner if (dest.endswith("/") or len(sources) > 1 or src_path.is_dir()) \
                    else app_dir / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)
    assert (app_dir / "wsgi.py").exists() and (app_dir / "webapp/__init__.py").exists()
    for app_id, dep in app_deployments(rendered["prod"]).items():
        c = container(dep)
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
        for var in c["env"]:
            env[var["name"]] = var.get("value", "dummy-secret-for-the-check")
        argv = [sys.executable, "-m", c["command"][0], "--check-config", *c["command"][1:]]
        proc = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{app_id}: {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
