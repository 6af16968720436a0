"""roles/server_apps: the apps a server holds, against those the inventory gives it."""

import pytest
import yaml

from provision.core.operations import NoChange, OperationError
from provision.project.plays import SETTINGS
from provision.project.roles import RoleContext
from tests.fakes import HOST
from tests.fleet import context
from tests.helpers import ROOT

# the notes of hello and shop, the note of before 0.3, and a folder with releases
HELD = ("hello /srv/hello hello\nshop /srv/shop shop\nhello /srv/hello app\n"
        "hello /srv/hello app\nold /srv/old app\n")  # fmt: skip


def test_the_fact_reads_each_app_once_notes_first(fleet):
    [check] = context_of(fleet).tasks()
    held = check.facts["held"].parse(HELD)
    assert [(h.name, h.root, h.user) for h in held] == [
        ("hello", "/srv/hello", "hello"), ("shop", "/srv/shop", "shop"), ("old", "/srv/old", "app")
    ]  # fmt: skip


def context_of(fleet, *apps, **settings):
    """What server_apps sees on a server whose inventory names ``apps`` (app_name, and
    the app role's app_user and app_root by default)."""
    base = context(fleet, "server_apps", "solo", **settings)
    named = [{"app_name": a, "app_user": a, "app_root": f"/srv/{a}"} for a in apps]
    return RoleContext(base.role, base.vars, HOST, base.peers, named or [base.vars])


def decide(ctx, output):
    [check] = ctx.tasks()
    return check.compare({"held": check.facts["held"].parse(output)})


@pytest.mark.parametrize("output, reason", [
    ("", "no app here yet"),
    ("hello /srv/hello hello\n", "holds hello"),
    ("hello /srv/hello hello\nshop /srv/shop shop\n", "holds hello, shop"),
])  # fmt: skip
def test_a_server_holding_the_inventorys_apps_goes_on(fleet, output, reason):
    assert decide(context_of(fleet, "hello", "shop"), output) == NoChange(reason)


def test_an_app_the_inventory_no_longer_names_is_said_and_left_alone(fleet):
    outcome = decide(context_of(fleet, "hello"), "hello /srv/hello hello\nshop /srv/shop shop\n")
    assert outcome == NoChange("also here, not in the inventory: shop (in /srv/shop); left "
                               "alone (`provision remove --app NAME` removes one)",
                               loud=True)  # said even when not verbose  # fmt: skip


@pytest.mark.parametrize("output, taken", [
    # one app renamed in an inventory without apps:, its user still the default "app"
    ("hello /srv/hello app\n", "user of hello (/srv/hello, user app)"),
    ("shop /srv/bookmarks shop\n", "folder of shop (/srv/bookmarks, user shop)"),
])  # fmt: skip
def test_a_rename_is_refused_and_said_to_be_a_remove_and_an_add(fleet, output, taken):
    ctx = context(fleet, "server_apps", "solo", app_name="bookmarks")
    with pytest.raises(OperationError) as refused:
        decide(ctx, output)
    message = str(refused.value)
    assert message.startswith(f"bookmarks would take the {taken}, an app this server holds "
                              "that the inventory no longer names. Renaming an app is a "
                              "remove and an add: `provision remove --app ")  # fmt: skip
    assert "-H solo` first (its data is kept)" in message


def test_every_play_checks_first():
    plays = yaml.safe_load((ROOT / "roles/plays.yaml").read_text())
    kinds = [roles for name, play in plays.items() if name not in SETTINGS
             for kind, roles in play["roles"].items() if kind != "balancer"]  # fmt: skip
    assert kinds and all(roles[0] == "server_apps" for roles in kinds)  # a balancer holds none


def test_an_app_whose_user_or_folder_changed_is_refused(fleet):
    # set up by an inventory of one app (user "app"), now one of apps: (user "hello")
    with pytest.raises(OperationError) as refused:
        decide(context_of(fleet, "hello"), "hello /srv/hello app\n")
    assert str(refused.value).startswith(
        "hello is in /srv/hello as user app on this server; the inventory gives it /srv/hello "
        "and user hello. An app is not moved in place: set app_root: /srv/hello and app_user: "
        "app for it")  # fmt: skip
