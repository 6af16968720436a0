"""Debian packages: what an install sends, given what is installed and how old the lists
are; and the one transaction several tasks' packages make together."""

import subprocess

import pytest

from provision.core.operations import apt
from tests.helpers import with_programs
from tests.unit.core.test_operations import decides

REFRESH = (
    "sh -c 'if ls /var/lib/apt/lists/*_Translation-* >/dev/null 2>&1; then apt-get update -q; "
    "else apt-get update -q -o Acquire::Languages=none; fi'"
)
INSTALL = (
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
    "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)

CASES = [
    (
        "apt-installed",
        apt.packages(["nginx", "python3-venv"]),
        {"installed": frozenset({"nginx", "python3-venv"}), "age": None},
        "installed: nginx, python3-venv",
    ),
    (
        "apt-missing-fresh-lists",
        apt.packages(["nginx", "python3-venv"], cache_valid_time=3600),
        {"installed": frozenset({"nginx"}), "age": 60},
        [
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
            "--no-install-recommends python3-venv"
        ],
    ),
    (
        "apt-missing-with-recommends",
        apt.packages(["nginx"], cache_valid_time=3600, recommends=True),
        {"installed": frozenset(), "age": 60},
        [
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nginx"
        ],
    ),
    (
        "apt-missing-stale-lists",
        apt.packages(["nginx"], cache_valid_time=3600),
        {"installed": frozenset(), "age": 7200},
        [
            REFRESH,
            "mkdir -p /var/lib/apt/periodic",
            "touch /var/lib/apt/periodic/provision-update-stamp",
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
            "--no-install-recommends nginx",
        ],
    ),
]


@pytest.mark.parametrize("op, facts, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_packages(op, facts, expected):
    decides(op, facts, expected)


def test_parts_of_several_tasks_make_one_transaction():
    nginx = apt.packages(["nginx"], cache_valid_time=3600).compare(
        {"installed": frozenset(), "age": 60})  # fmt: skip
    venv = apt.packages(["python3-venv", "nginx"], cache_valid_time=60).compare(
        {"installed": frozenset(), "age": 600})  # fmt: skip
    assert nginx.joint.kind == venv.joint.kind == "apt"
    joined = [c.render() for c in nginx.joint.join([nginx.joint.part, venv.joint.part])]
    assert joined == [  # the lists refreshed, as one part wants; each package once
        REFRESH,
        "mkdir -p /var/lib/apt/periodic",
        "touch /var/lib/apt/periodic/provision-update-stamp",
        f"{INSTALL} --no-install-recommends nginx python3-venv",
    ]


def test_packages_with_their_recommended_ones_join_only_their_like():
    plain = apt.packages(["a"]).compare({"installed": frozenset(), "age": 60})
    fuller = apt.packages(["b"], recommends=True).compare({"installed": frozenset(), "age": 60})
    assert plain.joint.kind != fuller.joint.kind


@pytest.mark.parametrize("present, expected", [
    ([], "update -q -o Acquire::Languages=none"),  # a fresh server's lists: none fetched
    (["deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"],
     "update -q -o Acquire::Languages=none"),
    (["deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en"], "update -q"),
    (["deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4"], "update -q"),
])  # fmt: skip
def test_a_refresh_fetches_descriptions_only_where_the_lists_have_them(tmp_path, present, expected):
    lists = tmp_path / "lists"
    (lists / "partial").mkdir(parents=True)
    for name in present:
        (lists / name).touch()
    env = with_programs(tmp_path, **{"apt-get": 'echo "$@"'})
    done = subprocess.run(apt.refresh(str(lists)).render(), shell=True, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.strip() == expected
