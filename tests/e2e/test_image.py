"""`provision image`: the example app's image, built with buildah from the same inputs as
a release, then run as a container runtime runs it (systemd-nspawn on the image's
filesystem, with the image's user, environment, entry point and command, a read-only
root and a network namespace of its own on the private bridge) and asked for /health.

The base image is the test hosts' own Debian 12 root filesystem, committed as an image:
no registry is reached. apt in the build goes through the bridge's package cache."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from provision.sandbox import images
from tests.helpers import ROOT

BASE = f"localhost/provision-test-base:{os.getpid()}"


@pytest.fixture(scope="module")
def base(module_rootfs):
    """The base image; once the module is done, every image it made is removed (the
    build's cached layers too), by id."""
    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed (see the README's install command)")
    before = images.image_ids()
    try:
        yield images.base_image(module_rootfs, BASE)
    finally:
        images.remove_images(images.image_ids() - before)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The example app in a project of its own (its Containerfile is written there)."""
    root = tmp_path_factory.mktemp("image-project")
    shutil.copytree(ROOT / "example-app", root / "app")
    (root / "inventory.yaml").write_text(
        "vars: {app_name: hello, app_source: app}\nhosts:\n  web1: {address: 127.0.0.1}\n"
    )
    return root


@pytest.fixture(scope="module")
def built(project, base, net):
    """Build the image, as a person would: `provision image`; its reference (removed with
    the base's fixture)."""

    def build(*sets):
        env = {**os.environ, "BUILDAH_ISOLATION": "chroot", "http_proxy": net.apt_proxy}
        args = [sys.executable, "-m", "provision.main", "image", "--base", base]
        args += [word for pair in sets for word in ("--set", pair)]
        done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.splitlines()[0].removeprefix("-- hello: image "), done.stdout

    return build


@pytest.fixture(scope="module")
def hello(built):
    """The example app's image, as the inventory gives it: (its reference, what was said)."""
    return built()


def get(url, deadline):
    while True:
        try:
            asked = urllib.request.Request(url, headers={"X-Provision-Probe": "1"})
            with urllib.request.urlopen(asked, timeout=2) as answer:
                return answer.status, answer.headers, answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_image_serves_its_health_route_as_its_command_runs_it(hello, project, net, tmp_path):
    ref, said = hello
    assert "wrote app/Containerfile" in said and f"built {ref} with buildah" in said
    assert (project / "app/Containerfile").read_text().startswith("# Written by `provision image`")
    conf = images.config(ref)
    assert conf["User"] == "app"
    assert conf["Cmd"] == ["web"]
    assert "8000/tcp" in conf["ExposedPorts"]
    assert "http://127.0.0.1:8000/health" in " ".join(conf["Healthcheck"]["Test"])
    address = net.address(200)
    running = images.run_image(ref, f"img{os.getpid() % 10**6}", net, address, tmp_path / "log")
    try:
        status, headers, body = get(f"http://{address}:8000/health", time.monotonic() + 60)
    finally:
        running.stop()
    assert status == 200 and '"status":"ok"' in body
    tag = ref.rpartition(":")[2]
    assert headers["X-Provision-Release"] == tag  # the image's REVISION: its content's
    log = (tmp_path / "log").read_text()
    assert "Using worker: provision_gunicorn.DrainingUvicornWorker" in log
    assert "Handling signal: term" in log  # stopped as a runtime stops it: SIGTERM to gunicorn


def test_the_app_s_user_cannot_write_its_code_and_the_release_command_is_a_one_off(built):
    ref, _ = built("app_release_command=python3 -c 'print(\"migrated\")'")
    status, out = images.run_once(ref, f"one{os.getpid() % 10**6}", ["id", "-un"])
    assert (status, out.splitlines()[0]) == (0, "app")
    status, out = images.run_once(ref, f"one{os.getpid() % 10**6}",
                                  ["python3", "-c", "open('/app/current/x', 'w')"])  # fmt: skip
    assert status == 1 and "Read-only file system" in out
    status, out = images.run_once(ref, f"one{os.getpid() % 10**6}", ["migrate"])
    assert (status, out.splitlines()[0]) == (0, "migrated")


def test_one_uvicorn_process_serves_it_as_kubernetes_runs_it(hello, net, tmp_path):
    ref, _ = hello
    address = net.address(201)
    running = images.run_image(ref, f"one{os.getpid() % 10**6}", net, address, tmp_path / "log",
                               args=["one"])  # fmt: skip
    try:
        status, _, body = get(f"http://{address}:8000/health", time.monotonic() + 60)
    finally:
        running.stop()
    assert status == 200 and '"status":"ok"' in body
    log = (tmp_path / "log").read_text()
    assert "Uvicorn running on http://0.0.0.0:8000" in log
    assert "gunicorn" not in log.lower()
