"""`fab logs`: the command each query sends, the checks before connecting, and the logs
each role names."""

import pytest

from provision.commands.logs import LOGS, LogQuery, LogSource, log_command
from provision.project.roles import merged
from tests.fakes import HOST
from tests.fleet import on_server

APP = LogSource(unit="hello")
ACCESS = LogSource(path="/var/log/nginx/access.log")


@pytest.mark.parametrize(
    "source, query, command",
    [
        (APP, LogQuery(), "journalctl -u hello --no-pager -o short-iso -n 100"),
        (APP, LogQuery(lines=5, since="10m", grep="GET /a.b"),  # the last 5, oldest first
         "sh -c 'journalctl -u hello --no-pager -o short-iso --since=-10m --grep "
         "'\"'\"'GET\\ /a\\.b'\"'\"' | tail -n 5'"),
        (APP, LogQuery(grep="x", follow=True),
         "journalctl -u hello --no-pager -o short-iso --grep x -n 100 --follow"),
        (APP, LogQuery(follow=True), "journalctl -u hello --no-pager -o short-iso -n 100 "
         "--follow"),
        (ACCESS, LogQuery(lines=3), "tail -n 3 /var/log/nginx/access.log"),
        (ACCESS, LogQuery(lines=3, grep="it's"),
         "sh -c 'tail -n +1 /var/log/nginx/access.log | grep --line-buffered -F -e '\"'\"'"
         "it'\"'\"'\"'\"'\"'\"'\"'\"'s'\"'\"' | tail -n 3'"),
        (ACCESS, LogQuery(follow=True), "tail -n 100 -F /var/log/nginx/access.log"),
    ],
)  # fmt: skip
def test_each_query_is_one_command(source, query, command):
    assert log_command(source, query).render() == command


@pytest.mark.parametrize(
    "query, fault",
    [
        (LogQuery(lines=0), "-n 0: at least one line"),
        (LogQuery(since="yesterday"), "--since 'yesterday': a time span such as 30s, 10m"),
        (LogQuery(since="10m"), ""),
        (LogQuery(since="1d", lines=1), ""),
    ],
)
def test_a_query_that_cannot_be_asked_is_refused_before_connecting(query, fault):
    assert query.fault().startswith(fault) and bool(query.fault()) == bool(fault)


def test_each_host_names_the_logs_of_what_it_runs(fleet):
    names = {}
    for host in ("solo", "app1", "lb"):
        ctxs = on_server(fleet, host)
        names[host] = set(merged(LOGS, [c.role for c in ctxs], ctxs[0].vars, HOST, ctxs[0].peers))
    assert names == {
        "solo": {"web", "nginx-access", "nginx-error"},
        "app1": {"web"},
        "lb": {"nginx-access", "nginx-error"},
    }
