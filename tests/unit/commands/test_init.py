"""`provision init`: what it reads in each layout of app, and what it writes (once)."""

import io
import shutil
import subprocess
import sys

import pytest
import yaml

from provision.commands.init import init
from provision.project.plays import Project
from tests.helpers import ROOT, write_tree

LOCKS = ROOT / "tests" / "unit" / "release" / "locks"
APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    return {"hello": "world"}
"""
HEALTH = """

@app.get("/health")
async def health():
    return {"status": "ok"}
"""


def run(folder):
    out = io.StringIO()
    assert init(folder, out) == 0
    return out.getvalue()


def settings(folder):
    return yaml.safe_load((folder / "inventory.yaml").read_text())["vars"]


def test_a_flat_app_with_requirements(tmp_path):
    app = write_tree(tmp_path / "hello", {"main.py": APP + HEALTH, "requirements.txt": "fastapi\n"})
    said = run(app)
    assert settings(app) == {"app_name": "hello", "app_source": ".", "app_domain": "",
                             "app_module": "main:app", "app_health_path": "/health"}  # fmt: skip
    assert "dependencies: requirements.txt" in said
    assert "warning" not in said


def test_an_app_package_whose_dependencies_are_in_pyproject(tmp_path):
    app = write_tree(tmp_path / "repo", {
        "pyproject.toml": '[project]\nname = "My_Shop"\ndependencies = ["fastapi>=0.110"]\n',
        "app/__init__.py": "", "app/main.py": APP + HEALTH,
        "tests/test_main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    })  # fmt: skip
    said = run(app)
    found = settings(app)
    assert found["app_name"] == "my-shop"
    assert found["app_module"] == "app.main:app"
    assert "dependencies: pyproject.toml" in said


def test_a_src_layout_with_a_uv_lock(tmp_path):
    app = tmp_path / "shop"
    shutil.copytree(ROOT / "tests" / "apps" / "src-uv", app)
    said = run(app)
    assert settings(app)["app_module"] == "shop.main:app"
    assert "dependencies: uv.lock" in said


def test_a_poetry_lock_names_the_app_and_its_dependencies(tmp_path):
    app = tmp_path / "p"
    shutil.copytree(LOCKS / "poetryapp", app)
    write_tree(app, {"main.py": APP + HEALTH})
    said = run(app)
    assert settings(app)["app_name"] == "poetryapp"
    assert "dependencies: poetry.lock" in said


def test_several_fastapi_apps_the_likeliest_is_chosen_and_the_others_said(tmp_path):
    app = write_tree(tmp_path / "two", {"requirements.txt": "fastapi\n", "admin/panel.py": APP,
                                   "main.py": APP + HEALTH})  # fmt: skip
    said = run(app)
    assert settings(app)["app_module"] == "main:app"
    assert "warning: several FastAPI apps: chose main:app (also found: admin.panel:app)" in said
    assert "# Also found: admin.panel:app." in (app / "inventory.yaml").read_text()


def test_no_health_route_is_a_warning_and_no_setting(tmp_path):
    app = write_tree(tmp_path / "bare", {"requirements.txt": "fastapi\n", "main.py": APP})
    said = run(app)
    assert "app_health_path" not in settings(app)
    assert "warning: the app has no health route" in said


def test_no_app_and_no_dependencies_are_said(tmp_path):
    app = write_tree(tmp_path / "empty", {"README.md": "nothing yet\n"})
    said = run(app)
    assert "app_module" not in settings(app)
    assert "warning: no dependencies found" in said
    assert "warning: no FastAPI app found" in said


@pytest.mark.parametrize("requirements, scheme", [
    ("fastapi\nasyncpg\nsqlalchemy[asyncio]>=2\n", "postgresql+asyncpg"),
    ("fastapi\npsycopg[binary]>=3.1\n", "postgresql"),
    ("fastapi\nSQLAlchemy\npsycopg2-binary==2.9.9  # the driver\n", "postgresql+psycopg2"),
])  # fmt: skip
def test_a_postgresql_driver_turns_postgresql_on(tmp_path, requirements, scheme):
    app = write_tree(tmp_path / "db", {"requirements.txt": requirements, "main.py": APP + HEALTH})
    run(app)
    assert settings(app)["postgres_enabled"] is True
    assert settings(app)["postgres_url_scheme"] == scheme


def test_no_driver_no_postgresql(tmp_path):
    app = write_tree(tmp_path / "nodb", {"requirements.txt": "fastapi\nhttpx\n", "main.py": APP})
    run(app)
    assert "postgres_enabled" not in settings(app)


def test_alembic_gives_the_release_command(tmp_path):
    app = tmp_path / "db"
    shutil.copytree(ROOT / "example-db-app", app)
    run(app)
    found = settings(app)
    assert found["app_release_command"] == "alembic upgrade head"
    assert found["app_module"] == "app.main:app"
    assert found["postgres_enabled"] is True


def test_the_inventory_written_loads_and_passes_the_checks(tmp_path):
    app = write_tree(tmp_path / "hello", {"main.py": APP + HEALTH, "requirements.txt": "fastapi\n"})
    run(app)
    write_tree(app, {".provision/sandbox/id_ed25519": "made by `provision sandbox`\n"})
    project = Project.load(app)
    [sandbox] = project.targets("sandbox")
    assert sandbox.key == str(app / ".provision" / "sandbox" / "id_ed25519")
    assert sandbox.host_keys.record == app / ".provision" / "known_hosts"
    project.ready("deploy", [sandbox], {})


def test_it_writes_the_fabfile_and_ignores_its_state(tmp_path):
    app = write_tree(tmp_path / "hello", {"main.py": APP, "requirements.txt": "fastapi\n",
                                     ".gitignore": "__pycache__/"})  # fmt: skip
    said = run(app)
    assert (app / "fabfile.py").read_text().startswith("from provision.tasks import *")
    assert (app / ".gitignore").read_text().splitlines()[0] == "__pycache__/"
    assert (app / ".gitignore").read_text().splitlines()[-1] == ".provision/"
    assert said.splitlines()[:3] == ["wrote inventory.yaml", "wrote fabfile.py",
                                     "added .provision/ to .gitignore"]  # fmt: skip
    assert said.rstrip().splitlines()[-3:] == [
        "  provision sandbox                  a local Debian server to rehearse on (root)",
        "  provision bootstrap -H sandbox     set it up",
        "  provision deploy -H sandbox        ship the app",
    ]


def test_a_second_run_changes_nothing_and_never_overwrites(tmp_path):
    app = write_tree(tmp_path / "hello", {"main.py": APP, "requirements.txt": "fastapi\n",
                                     "fabfile.py": "# mine\n"})  # fmt: skip
    run(app)
    assert (app / "fabfile.py").read_text() == "# mine\n"
    before = {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in app.iterdir()}
    said = run(app)
    assert {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in app.iterdir()} == before
    assert said.splitlines()[:3] == [
        "kept inventory.yaml: it is there already (init never overwrites a file)",
        "kept fabfile.py: it is there already (init never overwrites a file)",
        "kept .gitignore: it ignores .provision/ already",
    ]


def test_the_role_contract_leaves_packaging_to_the_commands_that_read_requirements():
    # every command imports the contract (init's types are in it); packaging is 10 ms
    code = "import sys, provision.api, provision.tasks; print('packaging' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)  # fmt: skip
    assert done.stdout.strip() == "False"
