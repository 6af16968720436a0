"""Every fact's parser, on what the real command printed on a Debian 12 test host.

The files in facts/ are the commands' own output, captured from a bootstrapped host
with two releases deployed (one of them marked rolled back).
"""

from pathlib import Path

import pytest

from provision.core.facts import (
    AptListsAge,
    DebPackages,
    FileContent,
    FileNames,
    GroupInfo,
    HostFacts,
    HostInfo,
    NetworkHome,
    PathInfo,
    PathState,
    SshdPorts,
    Succeeds,
    UnitState,
    UserInfo,
    UserState,
)
from provision.core.operations.secret import SecretTemplateDigest
from provision.release.releases import ReleaseInfo, Releases, ReleaseState

FIXTURES = Path(__file__).parent / "facts"

CASES = [
    ("host-info", HostInfo(),
     HostFacts(2, 24105, "debian", "12", "bookworm", "x86_64", "facts", "3.11", "2.36")),
    ("path-file", PathInfo("/srv/hello/shared/.env"),
     PathState("file", "app", "app", 0o600,
               "ba4ee3a651098a4c2eb180e08d813d1751e9cd955bd5b36e1132dc15a6c5d8fc")),
    # sha256sum marks a name that holds a backslash (or a newline) with one before its digest
    ("path-file-backslash", PathInfo("/root/a\\b"),
     PathState("file", "root", "root", 0o644,
               "73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac")),
    ("path-directory", PathInfo("/srv/hello/releases"),
     PathState("directory", "app", "app", 0o755)),
    ("path-link", PathInfo("/srv/hello/current"),
     PathState("link", "app", "app", 0o777, target="releases/20261125-223352")),
    ("path-missing", PathInfo("/srv/nothing-here"), None),
    ("file-content", FileContent("/etc/hostname"), b"facts\n"),
    ("file-content-missing", FileContent("/etc/nothing-here"), None),
    ("user-app", UserInfo("app"),
     UserState(999, "app", "/srv/hello", "/usr/sbin/nologin", ("app",))),
    ("user-root", UserInfo("root"), UserState(0, "root", "/root", "/bin/bash", ("root",))),
    ("user-missing", UserInfo("nobody-here"), None),
    ("group-app", GroupInfo("app"), 997),
    ("group-missing", GroupInfo("nobody-here"), None),
    ("deb-packages", DebPackages(("nginx", "python3-venv", "certbot", "no-such-package")),
     frozenset({"nginx", "python3-venv"})),
    ("apt-lists-age", AptListsAge(), 60),
    ("unit-hello", UnitState("hello.service"),
     {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled",
      "NeedDaemonReload": "no"}),
    ("unit-missing", UnitState("nothing-here.service"),
     {"LoadState": "not-found", "ActiveState": "inactive", "UnitFileState": "",
      "NeedDaemonReload": "no"}),
    ("file-names", FileNames("/etc/systemd/system", "hello-job-*"),
     ("hello-job-broken.service", "hello-job-broken.timer", "hello-job-tick.service",
      "hello-job-tick.timer")),
    ("file-names-none", FileNames("/etc/systemd/system", "nothing-*"), ()),
    ("sshd-ports", SshdPorts(), (22,)),  # `port 22` and two listen addresses on port 22
    ("succeeds-yes", Succeeds("test -d /srv/hello"), True),
    ("succeeds-no", Succeeds("test -d /srv/nothing-here"), False),
    ("secret-template-digest",
     SecretTemplateDigest("/srv/hello/shared/.env",
                          (("@@provision-postgres-password@@",
                            "/etc/provision/secrets/hello-postgres"),)),
     "954fda7647ce5100f3cb8a5b16ba9ad2f771eeb1e3751528a7e46d7c009dd51b"),
    ("secret-template-digest-missing",
     SecretTemplateDigest("/srv/nothing-here", (("@@x@@", "/etc/provision/secrets/x"),)),
     None),
    ("release-state-none", ReleaseState("/srv/nothing-here"),
     Releases(None, (), frozenset(), frozenset())),
    # a test host: a container in a network namespace of its own, and a container that
    # shares its host's network (the initial namespace's fixed inode)
    ("network-home-own", NetworkHome(), ""),
    ("network-home-shared", NetworkHome(), "a container (docker) that shares its host's network"),
]  # fmt: skip


@pytest.mark.parametrize("name, fact, expected", CASES, ids=[c[0] for c in CASES])
def test_fact_parses_real_output(name, fact, expected):
    assert fact.parse((FIXTURES / f"{name}.txt").read_text()) == expected


def test_release_state_parses_real_output():
    # two releases (one rolled back from, the live one never verified); besides them a
    # release and a venv left half made, which do not count
    state = ReleaseState("/srv/hello").parse((FIXTURES / "release-state.txt").read_text())
    venv = "5446a48087863b79"
    assert state.current == "20261201-233741"
    assert state.content == "db72ebbeeccc2361"
    assert state.releases == (
        ReleaseInfo("20261201-233738", False, venv, rolled_back=True),
        ReleaseInfo("20261201-233741", False, venv, unverified=True),
    )
    assert state.intent == {
        "action": "deploy",
        "at": "2026-12-01T23:37:42Z",
        "by": "root@vm",
        "from": "20261201-233738",
        "release": "20261201-233741",
    }
    assert not state.intent_noted and state.job_result == "kept"
    assert state.venvs == {venv}
    assert len(state.wheels) == 17
    assert "fastapi-0.165.0-py3-none-any.whl" in state.wheels


def test_every_fact_has_a_fixture():
    import provision.core.facts as facts

    kinds = {type(c[1]).__name__ for c in CASES} | {"ReleaseState"}
    declared = {
        name
        for name, obj in vars(facts).items()
        if isinstance(obj, type) and issubclass(obj, facts.Fact) and obj is not facts.Fact
    } | {"ReleaseState"}
    assert declared <= kinds, declared - kinds


@pytest.mark.parametrize(
    "output, why",
    [
        ("none\nnet:[4026531833]\n6.1.0-28-cloud-amd64\n", ""),  # a VM: its own, always
        ("systemd-nspawn\nnet:[4026532301]\n6.1.0-28-amd64\n",
         "a container (systemd-nspawn) on Linux 6.1.0-28-amd64, which cannot tell whether "
         "it shares its host's network"),
        ("lxc\nnet:[4026532301]\n6.18.1\n", ""),
    ],
)  # fmt: skip
def test_a_container_gets_firewall_rules_only_when_its_network_is_its_own(output, why):
    assert NetworkHome().parse(output) == why


def test_a_fact_quotes_what_it_is_given():
    command = PathInfo("/srv/a b; rm -rf /").command()
    assert "rm -rf" not in command.replace("'/srv/a b; rm -rf /'", "")
    assert "'a b'" in DebPackages(("nginx", "a b")).command()
