"""roles/one_app: a server that holds another app is refused before anything changes."""

import pytest
import yaml

from provision.core.operations import NoChange, OperationError
from provision.project.plays import SETTINGS
from tests.fleet import context
from tests.helpers import ROOT

HELD = "hello /srv/hello\n/srv/hello/releases\n"


def one_app(ctx):
    [check, *_] = ctx.tasks()
    return check


@pytest.mark.parametrize("output, reason", [
    ("", "no app here yet"),
    (HELD, "this server holds hello alone"),
])  # fmt: skip
def test_a_server_with_no_app_or_this_one_goes_on(fleet, output, reason):
    check = one_app(context(fleet, "one_app", "solo"))
    apps = check.facts["apps"].parse(output)
    assert check.compare({"apps": apps}) == NoChange(reason)


@pytest.mark.parametrize("output, settings, named", [
    (HELD, {"app_name": "bookmarks"}, "hello (in /srv/hello)"),
    (HELD, {"app_name": "bookmarks", "app_user": "bookmarks"}, "hello (in /srv/hello)"),
    # set up before the note existed: its releases name it
    ("/srv/shop/releases\n", {}, "shop (in /srv/shop)"),
])  # fmt: skip
def test_a_server_that_holds_another_app_is_refused(fleet, output, settings, named):
    check = one_app(context(fleet, "one_app", "solo", **settings))
    apps = check.facts["apps"].parse(output)
    with pytest.raises(OperationError) as refused:
        check.compare({"apps": apps})
    message = str(refused.value)
    assert f"this server holds another app: {named}" in message
    assert "a server of its own" in message


def test_every_play_checks_first():
    plays = yaml.safe_load((ROOT / "roles/plays.yaml").read_text())
    kinds = [roles for name, play in plays.items() if name not in SETTINGS
             for kind, roles in play["roles"].items() if kind != "balancer"]  # fmt: skip
    assert kinds and all(roles[0] == "one_app" for roles in kinds)  # a balancer holds no app
