"""provision as its users get it: a wheel built from this checkout, installed in a
virtualenv of its own outside it, and run from an app's repository that holds nothing of
provision but what `provision init` wrote there; then the project's own template and
hooks, on the same real host.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from provision import __version__
from tests.helpers import ROOT, get

SAMPLE = ROOT / "tests" / "apps" / "packaged"


def run(args, cwd, timeout=900, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                str(ROOT)], cwd=out)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("provision-*.whl")
    return built


@pytest.fixture(scope="module")
def tool(wheel, tmp_path_factory):
    """The bin folder of a new virtualenv, outside this checkout, with the wheel in it."""
    venv = tmp_path_factory.mktemp("tool") / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent).returncode == 0
    done = run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], cwd=venv.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The sample app, copied outside this checkout as a git repository of its own."""
    path = tmp_path_factory.mktemp("repos") / "notes"
    shutil.copytree(SAMPLE, path, ignore=shutil.ignore_patterns("__pycache__"))
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                 "commit", "-qm", "notes"]):  # fmt: skip
        assert run(["git", *git], cwd=path).returncode == 0
    return path


@pytest.fixture(scope="module")
def provision(tool, app):
    """Run the installed `provision` in the app's folder, with nothing of this checkout
    on its paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{tool}{os.pathsep}{os.defpath}"

    def provision(*args, timeout=900):
        done = run([str(tool / "provision"), *args], cwd=app, env=env, timeout=timeout)
        assert str(ROOT) not in done.stdout + done.stderr
        return done

    return provision


@pytest.fixture(scope="module")
def where(test_host):
    return ["-i", str(test_host.key), "-H", f"root@{test_host.address}"]


@pytest.fixture(scope="module")
def deployed(provision, app, where):
    """`provision init`, `bootstrap` and `deploy` of the app, as its README says."""
    init = provision("init")
    assert init.returncode == 0, init.stdout + init.stderr
    for task in ("bootstrap", "deploy"):
        done = provision(*where, task)
        assert done.returncode == 0, done.stdout + done.stderr
    return init


def test_the_wheel_carries_the_engine_the_roles_and_their_content(wheel, tool):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "provision/api.py",
        "provision/commands/inventory.yaml.j2",
        "provision/release/on_server/wait_healthy.py",
        "provision/project/defaults.yaml",
        "provision_roles/plays.yaml",
        "provision_roles/nginx_site/templates/site.conf.j2",
        "provision_roles/gunicorn/files/provision_gunicorn.py",
        "provision_roles/gunicorn/appcheck.py",
        "provision_roles/app/defaults.yaml",
    ):
        assert name in names, name  # fmt: skip
    done = run([str(tool / "provision"), "--version"], cwd=tool)
    assert done.stdout == f"provision {__version__}\n"


def test_init_bootstrap_and_deploy_from_the_apps_own_repository(deployed, tool, app):
    assert "  app_module: 'app.main:app'" in (app / "inventory.yaml").read_text()
    assert "  dependencies: pyproject.toml" in deployed.stdout
    status, body = get("/")
    assert status == 200 and json.loads(body)["app"] == "notes", body
    # what ran is the installed tool, from the app's folder, and its state is the app's
    code = "import os, provision, provision_roles as r; print(provision.__file__, r.__file__)"
    engine, roles = run([str(tool / "python"), "-c", code], cwd=app).stdout.split()
    assert engine.startswith(str(tool.parent)) and roles.startswith(str(tool.parent))
    assert not app.is_relative_to(ROOT) and not tool.is_relative_to(ROOT)
    assert (app / ".provision" / "known_hosts").is_file()
    assert run(["git", "status", "--porcelain", "--ignored", ".provision"], cwd=app).stdout == (
        "!! .provision/\n"
    )


def installed_roles(tool):
    """The stock roles' folder in the installed tool."""
    done = run([str(tool / "python"), "-c", "import provision_roles; print("
                "provision_roles.__file__)"], cwd=tool)  # fmt: skip
    return Path(done.stdout.strip()).parent


def test_the_projects_template_and_hooks(deployed, provision, tool, app, where, test_host):
    """A project's roles/ overlays one stock template; its hooks run around a deploy with
    the run's facts, and a failing `before` hook stops the next one before any change."""
    stock = (installed_roles(tool) / "nginx_site" / "templates" / "site.conf.j2").read_text()
    overlay = app / "roles" / "nginx_site" / "templates" / "site.conf.j2"
    overlay.parent.mkdir(parents=True)
    overlay.write_text("# the project's own site\n" + stock)
    hooks = app / "hooks"
    hooks.mkdir()
    for point in ("before-deploy", "after-deploy"):
        script = hooks / point
        script.write_text(f"#!/bin/sh\nenv | grep '^PROVISION_' | sort > .provision/{point}.env\n"
                          "test ! -e .provision/hold\n")  # fmt: skip
        script.chmod(0o755)
    before = json.loads(get("/health")[1])["release"]
    done = provision(*where, "deploy", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    server = test_host.testinfra()
    site = server.file("/etc/nginx/conf.d/notes.conf").content_string
    assert site == "# the project's own site\n" + site.split("\n", 1)[1]
    live = json.loads(get("/health")[1])["release"]
    assert live != before
    recorded = (app / ".provision" / "after-deploy.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in recorded)
    assert env["PROVISION_COMMAND"] == "deploy" and env["PROVISION_OUTCOME"] == "succeeded"
    assert (env["PROVISION_RELEASE"], env["PROVISION_PREVIOUS_RELEASE"]) == (live, before)
    assert test_host.address in env["PROVISION_HOSTS"] and float(env["PROVISION_DURATION"]) > 0
    releases = server.file("/srv/notes/releases").listdir()
    (app / ".provision" / "hold").touch()
    held = provision(*where, "deploy", "--force")
    assert held.returncode == 1
    assert ("error: hooks/before-deploy exited 1: the deploy did not start, no server was "
            "changed") in held.stdout  # fmt: skip
    assert json.loads(get("/health")[1])["release"] == live
    assert server.file("/srv/notes/releases").listdir() == releases


@pytest.mark.parametrize("installer", ["uv", "pipx"])
def test_uv_tool_install_and_pipx_install_give_the_same_command(wheel, tmp_path, installer):
    """As a tool of its own: `uv tool install` and `pipx install` of the wheel, each into
    folders of the test's, give a `provision` that runs from the app's repository."""
    venv = tmp_path / "installer"
    assert run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path).returncode == 0
    done = run([str(venv / "bin" / "pip"), "install", "-q", installer], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    bin_dir = tmp_path / "bin"
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
           "UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(bin_dir),
           "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(bin_dir),
           "PATH": f"{bin_dir}{os.pathsep}{os.defpath}"}  # fmt: skip
    install = ["tool", "install"] if installer == "uv" else ["install"]
    done = run([str(venv / "bin" / installer), *install, str(wheel)], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    version = run([str(bin_dir / "provision"), "--version"], cwd=tmp_path, env=env)
    assert version.stdout == f"provision {__version__}\n"
    copy = tmp_path / "notes"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    init = run([str(bin_dir / "provision"), "init"], cwd=copy, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "app_module: 'app.main:app'" in (copy / "inventory.yaml").read_text()
