"""roles/plays.yaml: which roles each kind of host runs, said once for every role."""

import pytest

from provision.project.schema import SchemaError
from tests.fleet import on_server

RUNS = {
    "solo": [
        "server_apps",
        "base",
        "app",
        "gunicorn",
        "processes",
        "nginx",
        "nginx_site",
        "firewall",
    ],
    "app1": ["server_apps", "base", "app", "gunicorn", "processes", "firewall"],
    "lb": ["base", "nginx", "nginx_site", "firewall"],
}


@pytest.mark.parametrize("host", sorted(RUNS))
def test_each_kind_of_host_runs_its_roles_in_order(fleet, host):
    assert [r.name for r in fleet.play("deploy").roles_of(fleet_settings(fleet, host))] == (
        RUNS[host])  # fmt: skip


def test_what_a_server_runs_is_the_commands_roles_then_the_other_plays(fleet):
    names = [ctx.role.name for ctx in on_server(fleet, "app1")]
    assert names == [*RUNS["app1"], "postgres", "postgres_db", "ssh"]  # bootstrap's too
    assert [ctx.role.name for ctx in on_server(fleet, "lb")] == [*RUNS["lb"], "ssh"]


def test_a_kind_the_plays_lack_is_refused_by_its_setting(fleet):
    with pytest.raises(SchemaError, match=r"^serves: expected one of all, app, balancer; got 'db'"):
        fleet.play("deploy").roles_of({"serves": "db"})


def fleet_settings(fleet, host):
    return on_server(fleet, host)[0].vars
