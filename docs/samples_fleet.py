"""The README's samples of several servers, from real runs on a fleet of sandbox hosts:
`provision sandbox --hosts N`, and rolling deploys to three app servers behind a balancer
(docs/web.yaml), one of which fails its health gate once live, one of which goes away."""

from __future__ import annotations

import json

import yaml
from sample_kit import (
    ROOT,
    Run,
    app_copy,
    only,
    provision,
    provision_watched,
    run_provision,
    task_line,
)

from provision.sandbox.processes import stop
from tests.helpers import HEALTH, SICK_HEALTH

WEB = ("--inventory", "docs/web.yaml")
# the release flow's lines, a balancer's changes, and all that is not a role's task
RELEASE = only(lambda i, line: not task_line(line) or " release: " in line
               or line.startswith("[lb] changed"))  # fmt: skip


def without_app_log(lines: list[str]) -> list[str]:
    """``RELEASE``'s lines, with the app's log that a failure shows left out."""
    shown, in_log = [], False
    for line in RELEASE(lines):
        if in_log and line.startswith("[") and line.split("] ", 1)[1].startswith("   "):
            if shown[-1] != "...":
                shown.append("...")
            continue
        in_log = line.endswith("--- the app's log:")
        shown.append(line)
    return shown


SHOWN = "provision deploy -H web --inventory docs/web.yaml --force"


def fleet(run: Run) -> None:
    shown = ".provision/sandbox/fleet.yaml"
    run.add("fleet", "provision sandbox --hosts 3", provision("sandbox", "--hosts", "3"))
    try:
        run.add("fleet", f"provision bootstrap -H fleet --inventory {shown}",
                provision("-H", "fleet", "bootstrap", "--inventory", shown),
                only(lambda i, line: not task_line(line) and "->" not in line))  # fmt: skip
    finally:
        run.add("fleet", "provision sandbox --stop", provision("sandbox", "--stop"))


def ok(*args: str) -> str:
    done = run_provision(*args)
    if done.returncode:
        raise SystemExit(f"samples: provision {' '.join(args)} failed:\n{done.stdout}")
    return done.stdout


def rolling(run: Run) -> None:
    """Three app servers and a balancer: a rolling deploy, then one that fails on app2's
    health gate, then one during which app3 goes away."""
    provision("sandbox", "--hosts", "4")
    try:
        machines = json.loads((ROOT / ".provision/sandbox/fleet.json").read_text())["hosts"]
        hosts = yaml.safe_load((ROOT / "docs/web.yaml").read_text())["hosts"]
        wanted = [host["address"] for host in hosts.values()]
        if [m["address"] for m in machines] != wanted:
            raise SystemExit(f"samples: the fleet is not at docs/web.yaml's addresses: {machines}")
        app = ROOT / ".provision/sandbox/web-app"
        app_copy(str(app), lambda text: text.replace(HEALTH, SICK_HEALTH))
        ok("-H", "web", "bootstrap", *WEB)
        ok("-H", "web", "deploy", *WEB)
        run.add("rolling", SHOWN, ok("-H", "web", "deploy", *WEB, "--force"), RELEASE)
        app.joinpath("SICK_ON").write_text(f"{machines[1]['name']}\n")
        run.add(
            "rolling-fails",
            SHOWN,
            provision("-H", "web", "deploy", *WEB, "--force"),
            without_app_log,
        )
        app.joinpath("SICK_ON").unlink()
        lost(run, machines[2]["pid"])
    finally:
        provision("sandbox", "--stop")


def lost(run: Run, pid: int) -> None:
    """A deploy with a pause between batches, during which app3's host halts."""
    args = [*WEB, "--force", "--set", "deploy_max_fail=1", "--set", "deploy_pause=10"]
    batch2 = lambda line: line.startswith("-- batch 2 of 3")  # noqa: E731
    printed = provision_watched(["-H", "web", "deploy", *args], batch2, lambda: stop(pid))
    run.add(
        "rolling-lost",
        f"{SHOWN} --set deploy_max_fail=1 --set deploy_pause=10   # app3 stops during a pause",
        printed,
        RELEASE,
    )
