"""The taskboard image built here (deploy/local-cluster/images.sh, no Docker engine) and deploy/Dockerfile do
not drift in what matters: base Python and Debian release, the pinned requirements, the user, the working
directory, ports, environment and command; and the running container is non-root on a read-only root."""

from __future__ import annotations

import json
import os
import re
import tarfile
from pathlib import Path

import pytest

from ..deploy.manifests import dockerfile_instructions
from .conftest import NS, kubectl, pods

ROOT = Path(__file__).resolve().parents[2]
TARBALL = Path(os.environ.get("TASKBOARD_CACHE", Path.home() / ".cache/taskboard")) / "k8s-images/taskboard.tar"


@pytest.fixture(scope="module")
def image_config() -> dict:
    with tarfile.open(TARBALL) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        return json.load(tar.extractfile(manifest[0]["Config"]))["config"]


@pytest.fixture(scope="module")
def dockerfile() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for instruction, args in dockerfile_instructions():
        out.setdefault(instruction, []).append(args)
    return out


@pytest.fixture(scope="module")
def in_pod():
    name = pods("app.kubernetes.io/name=taskboard")[0]["metadata"]["name"]
    return lambda *cmd: kubectl("-n", NS, "exec", name, "-c", "taskboard", "--", *cmd)


def test_config_matches_the_dockerfile(image_config, dockerfile):
    assert image_config["User"] == dockerfile["USER"][-1]
    assert image_config["WorkingDir"] == dockerfile["WORKDIR"][-1]
    assert image_config["Cmd"] == json.loads(dockerfile["CMD"][-1])
    assert sorted(image_config["ExposedPorts"]) == sorted(f"{p}/tcp" for p in dockerfile["EXPOSE"][-1].split())
    env = dict(e.split("=", 1) for e in image_config["Env"])
    for key, value in re.findall(r"(\w+)=(\S+)", dockerfile["ENV"][-1]):
        assert env[key] == value.replace("$PATH", env["PATH"].split(":", 1)[1]), key


def test_base_python_and_debian_release_match(dockerfile, in_pod):
    base = re.search(r"PYTHON_IMAGE=python:(\d+\.\d+)\.\d+-slim-(\w+)", dockerfile["ARG"][0])
    minor, release = base.groups()
    assert in_pod("python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])").strip() == minor
    codename = in_pod("sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME").strip()
    assert codename == release


def test_installed_packages_are_the_pinned_requirements(in_pod):
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    frozen = {}
    for line in in_pod("python", "-m", "pip", "freeze", "--disable-pip-version-check").splitlines():
        name, version = line.split("==")
        frozen[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert frozen == pinned


def test_runs_as_the_dockerfile_user_on_a_read_only_root(dockerfile, in_pod):
    uid = dockerfile["USER"][-1].split(":")[0]
    assert in_pod("id", "-u").strip() == uid
    out = in_pod("sh", "-c", "touch /app/x 2>&1 || echo refused")
    assert "Read-only file system" in out and "refused" in out
