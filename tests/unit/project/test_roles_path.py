"""The roles path: a project's own roles/ first, then the stock roles."""

import pytest

from provision.project.plays import Project
from provision.project.roles import RoleContext, RoleError
from provision.project.roles_path import find_roles, plays_file, roles_path, stock_roles
from tests.fakes import HOST
from tests.helpers import ROOT, write_tree


def test_the_stock_roles_are_provisions_own():
    assert (stock_roles() / "gunicorn" / "tasks.py").is_file()
    assert roles_path(ROOT) == [stock_roles()]  # this repository's roles are the stock ones


def test_a_project_without_roles_gets_the_stock_ones(tmp_path):
    assert roles_path(tmp_path) == [stock_roles()]
    assert plays_file(tmp_path) == stock_roles() / "plays.yaml"
    assert set(find_roles(tmp_path)) == set(find_roles(ROOT))


def test_a_template_of_the_projects_overlays_the_stock_one_and_only_that(tmp_path):
    root = write_tree(tmp_path, {"roles/ssh/templates/sshd.conf.j2": "# ours: {{ ssh_port }}\n"})
    ssh = find_roles(root)["ssh"]
    assert ssh.path == stock_roles() / "ssh"
    assert ssh.overlays == (root / "roles" / "ssh",)
    context = RoleContext(ssh, {"ssh_port": 22}, HOST)
    assert context.template("sshd.conf.j2") == "# ours: 22\n"
    gunicorn = find_roles(root)["gunicorn"]
    addons = RoleContext(gunicorn, {}, HOST).file("provision_gunicorn.py")
    assert addons == (stock_roles() / "gunicorn" / "files" / "provision_gunicorn.py").read_text()


def test_a_file_of_the_projects_overlays_the_stock_one(tmp_path):
    root = write_tree(tmp_path, {"roles/gunicorn/files/provision_gunicorn.py": "# ours\n"})
    gunicorn = find_roles(root)["gunicorn"]
    assert RoleContext(gunicorn, {}, HOST).file("provision_gunicorn.py") == "# ours\n"
    with pytest.raises(RoleError, match=r"roles/gunicorn/files/nothing\.py: no such file"):
        RoleContext(gunicorn, {}, HOST).file("nothing.py")


def test_a_projects_role_with_tasks_replaces_the_stock_role_and_adds_its_own(tmp_path):
    root = write_tree(tmp_path, {
        "roles/base/tasks.py": "def tasks(role):\n    return []\n",
        "roles/motd/tasks.py": "def tasks(role):\n    return []\n",
        "roles/motd/defaults.yaml": "motd_text: hello\n",
    })  # fmt: skip
    roles = find_roles(root)
    assert roles["base"].path == root / "roles" / "base"
    assert roles["motd"].defaults == {"motd_text": "hello"}
    assert roles["nginx"].path == stock_roles() / "nginx"


def test_an_overlay_of_no_role_is_refused(tmp_path):
    root = write_tree(tmp_path, {"roles/redis/templates/redis.conf.j2": "x\n"})
    with pytest.raises(RoleError, match="roles/redis: overlays no role: no role named 'redis'"):
        find_roles(root)


def test_the_projects_plays_win(tmp_path):
    plays = (stock_roles() / "plays.yaml").read_text()
    root = write_tree(tmp_path, {"roles/plays.yaml": plays.replace(", ssh, firewall]", ", ssh]"),
                              "inventory.yaml": "vars: {}\n"})  # fmt: skip
    assert plays_file(root) == root / "roles" / "plays.yaml"
    names = [r.name for r in Project.load(root).play("bootstrap").roles_of({"serves": "app"})]
    assert "firewall" not in names
    assert "firewall" in [r.name for r in Project.load(ROOT).play("bootstrap").roles_of(
        {"serves": "app"})]  # fmt: skip
