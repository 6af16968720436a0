"""Each release phase, given settings and facts, sends exactly these commands."""

import io
import zipfile
import zlib

import pytest

from provision.release import phases
from provision.release.layout import Layout
from provision.release.releases import ReleaseInfo, Releases

L = Layout("/srv/my app")
APP = "setpriv --reuid app --regid app --init-groups --reset-env"


def wheel(**members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


UV_WHEEL = wheel(**{"uv/__init__.py": "", "uv-1.data/scripts/uv": b"ELF" * 9})


def rendered(commands):
    return [c.render() for c in commands]


CASES = [
    ("upload", phases.upload(L, "app", "r2", b"tar"), [
        "rm -rf '/srv/my app/incoming/r2'",
        "install -d -o app -g app '/srv/my app/incoming/r2'",
        f"{APP} tar -xzf - -C '/srv/my app/incoming/r2'",
    ]),
    ("install", phases.install(L, "r2"), [
        "sh -c 'if [ -d '\"'\"'/srv/my app/incoming/r2/wheels'\"'\"' ]; then find "
        "'\"'\"'/srv/my app/incoming/r2/wheels'\"'\"' -name '\"'\"'*.whl'\"'\"' -exec mv -f -t "
        "'\"'\"'/srv/my app/wheels'\"'\"' {} +; fi'",
        "rm -rf '/srv/my app/releases/r2'",
        "mv -T '/srv/my app/incoming/r2/release' '/srv/my app/releases/r2'",
        "touch '/srv/my app/releases/r2/.provision-unverified'",
        "rm -rf '/srv/my app/incoming/r2'",
    ]),
    ("venv-reused", phases.venv(L, "app", "r2", "abc", built=True), [
        f"{APP} ln -sfn ../../venvs/abc '/srv/my app/releases/r2/venv'",
    ]),
    ("venv-built", phases.venv(L, "app", "r2", "abc", built=False), [
        "rm -rf '/srv/my app/venvs/.abc.r2'",
        "install -d -o app -g app '/srv/my app/venvs/.abc.r2'",
        f"{APP} python3 -m venv '/srv/my app/venvs/.abc.r2'",
        f"{APP} '/srv/my app/venvs/.abc.r2/bin/pip' install --quiet --disable-pip-version-check "
        "--no-index --no-deps --find-links '/srv/my app/wheels' "
        "-r '/srv/my app/releases/r2/.provision/requirements.txt'",
        f"{APP} env -C '/srv/my app/venvs/.abc.r2/bin' find . -maxdepth 1 -type f -exec sed -i "
        "'1,3s|/srv/my app/venvs/.abc.r2/bin/|/srv/my app/venvs/abc/bin/|' '{}' +",
        f"{APP} touch '/srv/my app/venvs/.abc.r2/.provision-complete'",
        "rm -rf '/srv/my app/venvs/abc'",
        "mv -T '/srv/my app/venvs/.abc.r2' '/srv/my app/venvs/abc'",
        "chown -R root:root '/srv/my app/venvs/abc'",  # the app cannot change its code
        "chmod -R u+w,go-w,a+rX '/srv/my app/venvs/abc'",
        f"{APP} ln -sfn ../../venvs/abc '/srv/my app/releases/r2/venv'",
    ]),
    ("venv-built-with-uv", phases.venv(L, "app", "r2", "abc", built=False, uv="/opt/uv"), [
        "rm -rf '/srv/my app/venvs/.abc.r2'",
        "install -d -o app -g app '/srv/my app/venvs/.abc.r2'",
        f"{APP} /opt/uv venv --quiet --no-config --no-cache --no-project --python /usr/bin/python3 "
        "'/srv/my app/venvs/.abc.r2'",
        f"{APP} /opt/uv pip install --quiet --no-config --no-cache --offline --compile-bytecode "
        "--python '/srv/my app/venvs/.abc.r2/bin/python' --no-index --no-deps --find-links "
        "'/srv/my app/wheels' -r '/srv/my app/releases/r2/.provision/requirements.txt'",
        f"{APP} env -C '/srv/my app/venvs/.abc.r2/bin' find . -maxdepth 1 -type f -exec sed -i "
        "'1,3s|/srv/my app/venvs/.abc.r2/bin/|/srv/my app/venvs/abc/bin/|' '{}' +",
        f"{APP} touch '/srv/my app/venvs/.abc.r2/.provision-complete'",
        "rm -rf '/srv/my app/venvs/abc'",
        "mv -T '/srv/my app/venvs/.abc.r2' '/srv/my app/venvs/abc'",
        "chown -R root:root '/srv/my app/venvs/abc'",
        "chmod -R u+w,go-w,a+rX '/srv/my app/venvs/abc'",
        f"{APP} ln -sfn ../../venvs/abc '/srv/my app/releases/r2/venv'",
    ]),
    ("tool", phases.tool("/usr/local/lib/provision/uv-1/uv", UV_WHEEL, "uv-1.data/scripts/uv"), [
        "mkdir -p /usr/local/lib/provision/uv-1",
        f"python3 -I -c {phases.Command.of(phases.EXTRACT).render()} 8 {zlib.crc32(b'ELF' * 9)} 27 "
        "/usr/local/lib/provision/uv-1/uv",
    ]),
    ("link", phases.link_shared(L, "app", "r2", {".env": "shared/.env",
                                                 "var/uploads": "shared/var/uploads"}), [
        f"{APP} rm -rf '/srv/my app/releases/r2/.env'",
        f"{APP} ln -sfn ../../shared/.env '/srv/my app/releases/r2/.env'",
        f"{APP} mkdir -p '/srv/my app/releases/r2/var'",
        f"{APP} rm -rf '/srv/my app/releases/r2/var/uploads'",
        f"{APP} ln -sfn ../../../shared/var/uploads '/srv/my app/releases/r2/var/uploads'",
        f"{APP} touch '/srv/my app/releases/r2/.provision-complete'",
    ]),
    ("switch", phases.switch(L, "app", "r2"), [
        "chown -R root:root '/srv/my app/releases/r2'",
        "chmod -R u+w,go-w,a+rX '/srv/my app/releases/r2'",
        "ln -sfn releases/r2 '/srv/my app/current.provision-new'",
        "mv -T -f '/srv/my app/current.provision-new' '/srv/my app/current'",
    ]),
    ("roll-back", phases.roll_back(L, "app", "r2", "r1"), [
        "touch '/srv/my app/releases/r2/.provision-rolled-back'",
        "rm -f '/srv/my app/releases/r1/.provision-rolled-back'",
        "chown -R root:root '/srv/my app/releases/r1'",
        "chmod -R u+w,go-w,a+rX '/srv/my app/releases/r1'",
        "ln -sfn releases/r1 '/srv/my app/current.provision-new'",
        "mv -T -f '/srv/my app/current.provision-new' '/srv/my app/current'",
    ]),
    ("mark-bad", phases.mark_bad(L, "r2"), ["touch '/srv/my app/releases/r2/.provision-bad'"]),
]  # fmt: skip


@pytest.mark.parametrize("name, commands, expected", CASES, ids=[c[0] for c in CASES])
def test_phase_commands(name, commands, expected):
    assert rendered(commands) == expected


def test_clean_removes_old_releases_and_their_venvs_only():
    infos = [ReleaseInfo("r1", False, "v1"), ReleaseInfo("r2", True, "v2"),
             ReleaseInfo("r3", False, "v3"), ReleaseInfo("r4", False, "v3"),
             ReleaseInfo("r5", False, "v5")]  # fmt: skip
    state = Releases("r4", tuple(infos), frozenset({"v1", "v2", "v3", "v5", "v9"}), frozenset())
    commands = rendered(phases.clean(L, state, "r5", keep=2))
    # keep r4 r5 (newest), r4 live, r3 previous: r1 and r2 go, with v1, v2, and unused v9
    assert commands[:5] == [
        "rm -rf '/srv/my app/releases/r1'",
        "rm -rf '/srv/my app/releases/r2'",
        "rm -rf '/srv/my app/venvs/v1'",
        "rm -rf '/srv/my app/venvs/v2'",
        "rm -rf '/srv/my app/venvs/v9'",
    ]
    assert "[ \"$d\" = '\"'\"'/srv/my app/releases/r5'\"'\"'/ ]" in commands[5]


def test_check_starts_the_release_in_its_own_session_and_polls_its_pid():
    health = phases.poll("http://127.0.0.1:8001/health", "r2", 30, phases.CHECKED, ["/items"])
    command = phases.check(L, "app", "r2", "hello", ["venv/bin/python", "-m", "gunicorn"],
                           health, '"GET')  # fmt: skip
    text = command.parts[0]
    assert "cd '/srv/my app/releases/r2'; setsid " + APP in text
    assert "env 'PROVISION_RELEASE_DIR=/srv/my app/releases/r2' venv/bin/python -m gunicorn" in text
    assert f"{health.render()} >/dev/null" in text
    assert health.render().endswith(' http://127.0.0.1:8001/health r2 30 "$pid" /items')
    assert "grep -avE '\"GET' /run/lock/provision-hello.check.log" in text
    assert command.display() == "start r2 on a spare port and wait for its health"


def test_poll_passes_url_release_timeout_and_pid():
    command = phases.poll("http://127.0.0.1:8000/health", "r2", 30, pid="42")
    assert command.parts[:4] == ("python3", "-I", "-S", "-c")
    assert command.parts[5:] == ("http://127.0.0.1:8000/health", "r2", "30", "42")
    no_pid = phases.poll("http://127.0.0.1:8001/health", "r2", 30, smoke=["/a", "/b"])
    assert no_pid.parts[5:] == ("http://127.0.0.1:8001/health", "r2", "30", "-", "/a", "/b")
    assert command.display() == "wait until http://127.0.0.1:8000/health answers from r2"
