"""Apps as people write them, on a real host: a stock app, a package, a src/ layout with
a uv.lock, an app with only a pyproject.toml."""

import re
import shutil
from pathlib import Path

from tests.helpers import get

SRC_UV = Path(__file__).parents[1] / "apps" / "src-uv"

STOCK = """from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/")
def index():
    return {"message": "VERSION"}
"""


def test_a_stock_app_deploys_and_rolls_back(deploy, app, bootstrapped_host):
    """An app as its framework's docs write it: nothing in it knows of provision."""
    shutil.rmtree(app)
    app.mkdir()
    (app / "requirements.txt").write_text("fastapi\n")
    (app / "main.py").write_text(STOCK.replace("VERSION", "one"))
    assert deploy().returncode == 0
    (app / "main.py").write_text(STOCK.replace("VERSION", "two"))
    done = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert get("/health") == (200, '{"status":"ok"}')
    assert get("/") == (200, '{"message":"two"}')
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 0, done.stdout + done.stderr
    assert get("/") == (200, '{"message":"one"}')


def test_an_app_package_layout_deploys(deploy, app):
    shutil.rmtree(app)
    (app / "app").mkdir(parents=True)
    (app / "app" / "__init__.py").write_text("")
    (app / "app" / "main.py").write_text(STOCK.replace("VERSION", "from a package"))
    (app / "requirements.txt").write_text("fastapi\n")
    done = deploy("--set", "app_module=app.main:app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert get("/") == (200, '{"message":"from a package"}')


def test_an_app_with_only_a_pyproject_deploys(deploy, app):
    shutil.rmtree(app)
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = ["fastapi"]\n'
    )
    (app / "main.py").write_text(STOCK.replace("VERSION", "from pyproject"))
    done = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"release: build  \(\d+ pinned packages from pyproject.toml", done.stdout)
    assert get("/") == (200, '{"message":"from pyproject"}')


def test_a_src_layout_with_a_uv_lock_deploys_exactly_the_locked_versions(deploy, app, host):
    shutil.rmtree(app)
    shutil.copytree(SRC_UV, app)
    # First the same app with its package at the top: the same virtualenv, so the next
    # release is a plain reload of the running master, which must find src/ by itself.
    (app / "src" / "shop").rename(app / "shop")
    assert deploy("--set", "app_module=shop.main:app").returncode == 0
    (app / "shop").rename(app / "src" / "shop")
    done = deploy("--set", "app_module=shop.main:app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"release: build  \(\d+ pinned packages from uv.lock", done.stdout)
    assert get("/") == (200, '{"shop":"open"}')
    lock = (SRC_UV / "uv.lock").read_text()
    locked = dict(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', lock))
    python = "/srv/hello/current/venv/bin/python"
    for name in ("fastapi", "starlette", "pydantic"):
        installed = host.check_output(
            f"{python} -c 'import importlib.metadata as m; print(m.version(\"{name}\"))'"
        )
        assert installed == locked[name], name
    (app / "src" / "shop" / "main.py").write_text(
        (app / "src" / "shop" / "main.py").read_text().replace("open", "still open")
    )
    again = deploy("--set", "app_module=shop.main:app")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 new wheel(s)" in again.stdout and "reused venvs/" in again.stdout
    assert "reused venvs/" in done.stdout  # the layout changed on a running master
    assert get("/") == (200, '{"shop":"still open"}')
