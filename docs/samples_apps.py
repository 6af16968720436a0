"""The samples of docs/several-apps.md, from real runs: two apps on the sandbox
(docs/apps.yaml), each with a certificate from a local ACME test server (pebble, on
loopback: the sandbox shares this machine's network); one deployed and rolled back, one
in maintenance, one taken out of the inventory and removed."""

from __future__ import annotations

import re
import shutil

from sample_kit import ROOT, Run, only, provision, release_or_first, sample, task_line

from tests.acme import Pebble
from tests.load import NamedHTTPS

APPS = ("--inventory", "docs/apps.yaml")
SHOWN = "--inventory docs/apps.yaml"
ACME = ROOT / ".provision" / "acme"  # where docs/apps.yaml's acme_ca_bundle is


def curl(acme: Pebble, name: str, path: str) -> str:
    """A sample of `curl -i` to the site ``name`` on the sandbox, and its real answer."""
    conn = NamedHTTPS("127.0.0.1", 443, name, acme.root)
    try:
        conn.request("GET", path, headers={"Host": name})
        answer = conn.getresponse()
        body = answer.read().decode()
        headers = [f"{k}: {v}" for k, v in answer.getheaders()
                   if k in ("Content-Type", "Retry-After")]  # fmt: skip
    finally:
        conn.close()
    said = "\n".join([f"HTTP/1.1 {answer.status} {answer.reason}", *headers, "", body.strip()])
    shown = f"curl -i --resolve {name}:443:127.0.0.1 https://{name}{path}"
    page = only(lambda i, line: i < 4 or "<h1>" in line or line.startswith(("{", "[")))
    return sample(shown, said, page)


def apps(run: Run) -> None:
    ACME.mkdir(parents=True, exist_ok=True)
    inventory = ROOT / "docs" / "apps.yaml"
    kept = inventory.read_text()
    try:
        with Pebble(ACME, listen="127.0.0.1", answer="127.0.0.1") as acme:
            provision("sandbox")
            _both(run, acme)
            _one(run, acme)
            inventory.write_text(kept[: kept.index("  shop:\n")] + kept[kept.index("hosts:") :])
            _removed(run)
    finally:
        inventory.write_text(kept)
        provision("sandbox", "--stop")
        shutil.rmtree(ACME, ignore_errors=True)


def _both(run: Run, acme: Pebble) -> None:
    # the server's apps, and of each app's roles (role[app]) its user, database and site
    mine = re.compile(r"^\[\S+\] \S+ +\w+\[\w+\]: (user|database|certificate|site) ")
    own = only(lambda i, line: not task_line(line) or "server_apps" in line
               or bool(mine.match(line)))  # fmt: skip
    run.add("apps-bootstrap", f"provision bootstrap -H sandbox {SHOWN}",
            provision("-H", "sandbox", "bootstrap", *APPS), own)  # fmt: skip
    run.add("apps-deploy", f"provision deploy -H sandbox {SHOWN}",
            provision("-H", "sandbox", "deploy", *APPS), release_or_first(0))  # fmt: skip
    run.made["apps-deploy"] += "\n" + curl(acme, "hello.test", "/health")
    run.made["apps-deploy"] += "\n" + curl(acme, "shop.test", "/items")


def _one(run: Run, acme: Pebble) -> None:
    main = ROOT / "example-app" / "main.py"
    before = main.read_text()
    try:
        main.write_text(before + "# a change\n")
        run.add("apps-one", f'echo "# a change" >> example-app/main.py; provision deploy -H '
                f"sandbox {SHOWN} --app hello",
                provision("-H", "sandbox", "deploy", *APPS, "--app", "hello"),
                release_or_first(0))  # fmt: skip
    finally:
        main.write_text(before)
    run.add("apps-one", f"provision rollback -H sandbox {SHOWN} --app hello",
            provision("-H", "sandbox", "rollback", *APPS, "--app", "hello"))  # fmt: skip
    run.add("apps-one", f"provision logs -H sandbox {SHOWN} -n 5",
            provision("-H", "sandbox", "logs", *APPS, "-n", "5"))  # fmt: skip
    run.add("apps-status", f"provision status -H sandbox {SHOWN}",
            provision("-H", "sandbox", "status", *APPS))  # fmt: skip
    run.add("apps-maintenance", f"provision maintenance on -H sandbox {SHOWN} --app shop",
            provision("-H", "sandbox", "maintenance", "on", *APPS, "--app", "shop"))  # fmt: skip
    run.made["apps-maintenance"] += "\n" + curl(acme, "shop.test", "/items")
    run.add("apps-maintenance", f"provision status -H sandbox {SHOWN} --app shop",
            provision("-H", "sandbox", "status", *APPS, "--app", "shop"),
            only(lambda i, line: "maintenance" in line or "release" in line))  # fmt: skip
    run.add("apps-maintenance", f"provision maintenance off -H sandbox {SHOWN} --app shop",
            provision("-H", "sandbox", "maintenance", "off", *APPS, "--app", "shop"))  # fmt: skip


def _removed(run: Run) -> None:
    run.add("apps-remove", f"provision bootstrap -H sandbox {SHOWN}   # shop taken out of "
            "docs/apps.yaml", provision("-H", "sandbox", "bootstrap", *APPS),
            only(lambda i, line: not task_line(line) or "server_apps" in line))  # fmt: skip
    run.add("apps-remove", f"provision remove -H sandbox {SHOWN} --app shop",
            provision("-H", "sandbox", "remove", *APPS, "--app", "shop"))  # fmt: skip
