"""roles/postgres_db and roles/postgres: what `provision status` shows of the database and
its backups, and the logs they name."""

import calendar
import time

from tests.fakes import parsed
from tests.fleet import context


def test_postgres_shows_its_service_database_and_backups_and_names_their_logs(fleet, monkeypatch):
    # read at 20:00 UTC on the day of the captured run (its next backup is tomorrow's)
    monkeypatch.setattr(time, "time", lambda: calendar.timegm((2026, 11, 30, 20, 0, 0)))
    server = context(fleet, "postgres", "solo")
    assert server.role.module.logs(server) == {}  # off
    off = context(fleet, "postgres_db", "solo")
    assert off.role.module.status(off) == {} and off.role.module.logs(off) == {}
    server = context(fleet, "postgres", "solo", postgres_enabled=True)
    assert server.role.module.logs(server)["postgres"].path.startswith(
        "/var/log/postgresql/postgresql-")  # fmt: skip
    ctx = context(fleet, "postgres_db", "solo", postgres_enabled=True)
    probes, logs = ctx.role.module.status(ctx), ctx.role.module.logs(ctx)
    assert list(probes) == ["postgres", "backup"] and list(logs) == ["backup"]
    assert logs["backup"].unit == "hello-pg-backup.service"

    db = parsed(probes["postgres"], "status-postgres")
    assert (db["active"], db["size_mb"], db["connections"]) == (True, 7.3, 0)
    assert probes["postgres"].line(db).endswith("; database hello 7.3 MB, 0 connection(s)")
    backup = parsed(probes["backup"], "status-backup")
    assert backup["result"] == "ok" and backup["last_run"] == "2026-11-30T18:57:42Z"
    assert backup["newest"] == {"path": "/var/backups/postgresql/hello/"
                                "hello-20261130-185742.363.dump", "bytes": 857,
                                "at": "2026-11-30T18:57:42Z"}  # fmt: skip
    line = probes["backup"].line(backup)
    assert line.startswith("last 18:57:42 UTC (1 h 2 min ago): ok; newest hello-20261130-185742."
                           "363.dump (857 B); next 2026-12-01 ")  # fmt: skip
    none = parsed(probes["backup"], "status-backup-none")
    assert none["newest"] is None and "no dump yet" in probes["backup"].line(none)
