"""A role's actions (`fab backup`): found by name, or refused with the roles' reasons."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from provision.commands.actions import Action, offered
from provision.core.command import Command
from provision.core.facts import HostFacts
from provision.project.apply import Host
from provision.project.peers import NO_PEERS
from provision.project.plays import Play
from provision.project.roles import Role, RoleError

HOST = HostFacts(2, 2048, "debian", "12", "bookworm", "x86_64", "web1", "3.11", "2.36")


def role(name, actions=None):
    module = SimpleNamespace(tasks=lambda r: [])
    if actions is not None:
        module.actions = actions
    return Role(name, Path("."), {}, module)


def host(**settings):
    session = SimpleNamespace(target=SimpleNamespace(name="web1"))
    return Host(session, HOST, settings, NO_PEERS)


def backups(r):
    if not r.vars["db"]:
        return {"backup": "the database is off here"}
    return {"backup": Action("database shop", [Command.of("systemctl", "start", "x")])}


def test_the_role_that_offers_an_action_gives_it():
    play = Play("deploy", [], [role("app"), role("db", backups)])
    assert offered(play, host(db=True), "backup").what == "database shop"


@pytest.mark.parametrize(
    "settings, name, why",
    [
        ({"db": False}, "backup", "`backup` is not available on web1: the database is off here"),
        ({"db": True}, "restore", "`restore` is not available on web1: no role offers it"),
    ],
)
def test_an_action_no_role_offers_here_says_why(settings, name, why):
    play = Play("deploy", [], [role("app"), role("db", backups)])
    with pytest.raises(RoleError) as e:
        offered(play, host(**settings), name)
    assert str(e.value) == why
