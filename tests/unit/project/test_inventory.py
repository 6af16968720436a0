"""Inventory validation and variable precedence: pure logic, no hosts."""

import textwrap

import pytest

from provision.project.inventory import Inventory, InventoryError
from provision.project.plays import parse_overrides

SCHEMA = {"app_name": "hello", "app_workers": 0, "base_packages": ["nginx"], "app_domain": ""}


def load(tmp_path, text):
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(text))
    return Inventory.load(path, SCHEMA)


def error_of(tmp_path, text):
    with pytest.raises(InventoryError) as e:
        load(tmp_path, text)
    message = str(e.value)
    assert "\n" not in message
    return message.replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "hosts:\n  web1:\n    address: [1.2.3.4\n",
            "inventory.yaml:4: YAML syntax error: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "hosts:\n  web1:\n    adress: 127.0.0.1\n",
            "inventory.yaml:3: hosts.web1.adress: unknown key; did you mean 'address'?",
        ),
        (
            "hosts:\n  web1:\n    address: 127.0.0.1\n    port: twenty-two\n",
            "inventory.yaml:4: hosts.web1.port: expected an integer, got a string 'twenty-two'",
        ),
        (
            "hosts:\n  web1:\n    user: root\n",
            "inventory.yaml:2: hosts.web1: missing required key 'address'",
        ),
        (
            "vars:\n  app_nmae: shop\n",
            "inventory.yaml:2: vars.app_nmae: unknown setting; did you mean 'app_name'?",
        ),
        (
            "hosts:\n  web1:\n    address: 127.0.0.1\n    vars:\n      app_workers: many\n",
            "inventory.yaml:5: hosts.web1.vars.app_workers: expected an integer, "
            "got a string 'many'",
        ),
        (
            "groups:\n  web:\n    hosts: [web2]\n",
            "inventory.yaml:3: groups.web.hosts.0: unknown host 'web2'",
        ),
        (
            "hostz: {}\n",
            "inventory.yaml:1: hostz: unknown key; did you mean 'hosts'?",
        ),
        (
            "hosts:\n  web1:\n    address: a\n  web1:\n    address: b\n",
            "inventory.yaml:4: hosts.web1: key given twice",
        ),
        (
            "hosts:\n  web1:\n    address: 127.0.0.1\n    port: 70000\n",
            "inventory.yaml:4: hosts.web1.port: must be between 1 and 65535",
        ),
        (
            "- just\n- a list\n",
            "inventory.yaml: expected a mapping at the top, got a list",
        ),
        (
            "host_keys:\n  checking: strikt\n",
            "inventory.yaml:2: host_keys.checking: expected accept-new or strict, got 'strikt'; "
            "did you mean 'strict'?",
        ),
        (
            "host_keys:\n  fille: known\n",
            "inventory.yaml:2: host_keys.fille: unknown key; did you mean 'file'?",
        ),
    ],
    ids=[
        "host-keys-checking",
        "host-keys-unknown-key",
        "yaml-syntax",
        "unknown-key",
        "wrong-type",
        "missing-address",
        "unknown-var",
        "wrong-var-type",
        "unknown-group-member",
        "unknown-top-key",
        "duplicate-key",
        "port-range",
        "not-a-mapping",
    ],
)
def test_bad_inventory_names_file_line_key_and_fault(tmp_path, text, expected):
    assert error_of(tmp_path, text) == expected


def test_unknown_host_name_suggests_closest(tmp_path):
    inv = load(
        tmp_path, "hosts:\n  web1:\n    address: 127.0.0.1\ngroups:\n  web: {hosts: [web1]}\n"
    )
    with pytest.raises(InventoryError) as e:
        inv.resolve("wbe1")
    assert str(e.value).endswith(
        "no host or group named 'wbe1'; did you mean 'web1'? (known: web1, web); "
        "an address works too: user@host[:port]"
    )


def test_missing_key_file_is_reported_when_the_host_is_used(tmp_path):
    inv = load(tmp_path, "hosts:\n  web1:\n    address: 127.0.0.1\n    key: nope/id\n")
    with pytest.raises(InventoryError, match=r"inventory.yaml:4: hosts.web1.key: no such key file"):
        inv.resolve("web1")


def test_precedence_all_then_groups_then_host(tmp_path):
    inv = load(
        tmp_path,
        """
        vars: {app_name: from-all, app_domain: all.test, app_workers: 1}
        hosts:
          web1:
            address: 127.0.0.1
            vars: {app_name: from-host}
        groups:
          first: {hosts: [web1], vars: {app_domain: first.test, app_workers: 2}}
          second: {hosts: [web1], vars: {app_workers: 3}}
        """,
    )
    [web1] = inv.resolve("web1")
    assert web1.vars == {"app_name": "from-host", "app_domain": "first.test", "app_workers": 3}


@pytest.mark.parametrize(
    "pattern, user, address, port",
    [
        ("deploy@203.0.113.10:2200", "deploy", "203.0.113.10", 2200),
        ("203.0.113.10", "root", "203.0.113.10", 22),
        ("admin@server.example.com", "admin", "server.example.com", 22),
        ("root@[::1]:2222", "root", "::1", 2222),
    ],
)
def test_adhoc_targets(tmp_path, pattern, user, address, port):
    inv = load(tmp_path, "vars: {app_name: shop}\n")
    [t] = inv.resolve(pattern)
    assert (t.user, t.address, t.port, t.vars) == (user, address, port, {"app_name": "shop"})


def test_group_resolves_to_its_hosts(tmp_path):
    inv = load(
        tmp_path,
        "hosts:\n  a: {address: 127.0.0.1}\n  b: {address: 127.0.0.2}\n"
        "groups:\n  web: {hosts: [a, b]}\n",
    )
    assert [t.name for t in inv.resolve("web")] == ["a", "b"]


def test_overrides_parse_yaml_values():
    assert parse_overrides(["app_workers=4", "app_name=shop", "base_packages=[a, b]"]) == {
        "app_workers": 4,
        "app_name": "shop",
        "base_packages": ["a", "b"],
    }


def test_override_without_equals_is_an_error():
    with pytest.raises(InventoryError, match="expected NAME=VALUE"):
        parse_overrides(["app_workers"])


@pytest.mark.parametrize("text, record, strict", [
    ("hosts: {}\n", ".provision/known_hosts", False),
    ("host_keys: {checking: strict}\n", ".provision/known_hosts", True),
    ("host_keys: {checking: accept-new, file: keys/hosts}\n", "keys/hosts", False),
])  # fmt: skip
def test_host_keys_are_checked_against_the_projects_file_in_its_state_folder(
    tmp_path, text, record, strict
):
    inv = load(tmp_path, text + "vars: {}\n")
    [target] = inv.resolve("root@10.0.0.5")
    assert target.host_keys.record == tmp_path / record
    assert target.host_keys.strict is strict
    assert target.host_keys.strictly().strict


def test_a_known_hosts_file_beside_the_inventory_from_before_is_still_read(tmp_path):
    (tmp_path / "known_hosts").write_text("")
    [target] = load(tmp_path, "vars: {}\n").resolve("root@10.0.0.5")
    assert target.host_keys.record == tmp_path / "known_hosts"
    (tmp_path / ".provision").mkdir()
    (tmp_path / ".provision" / "known_hosts").write_text("")
    [target] = load(tmp_path, "vars: {}\n").resolve("root@10.0.0.5")
    assert target.host_keys.record == tmp_path / ".provision" / "known_hosts"


# -- several apps ----------------------------------------------------------------------
APPS = """
vars: {app_workers: 2}
apps:
  hello: {app_domain: hello.example.com}
  shop: {app_domain: shop.example.com, app_workers: 4}
  admin:
hosts:
  web1: {address: 10.0.0.1, apps: [shop]}
  web2: {address: 10.0.0.2, vars: {app_workers: 8}}
  web3: {address: 10.0.0.3}
groups:
  back: {hosts: [web3], apps: [admin, hello]}
"""


def test_each_app_has_its_settings_and_each_host_its_apps(tmp_path):
    inv = load(tmp_path, APPS)
    [web1] = inv.resolve("web1")
    assert web1.apps == {"shop": {"app_workers": 4, "app_domain": "shop.example.com"}}
    [web2] = inv.resolve("web2")
    assert list(web2.apps) == ["hello", "shop", "admin"]  # no list: every app
    assert web2.apps["shop"]["app_workers"] == 8  # the host's own vars win over the app's
    assert web2.apps["admin"] == {"app_workers": 8}
    [web3] = inv.resolve("web3")
    assert list(web3.apps) == ["admin", "hello"]  # what its group lists
    [adhoc] = inv.resolve("root@10.0.0.9")
    assert adhoc.apps["shop"] == {"app_workers": 4, "app_domain": "shop.example.com"}


def test_one_app_without_apps_as_before(tmp_path):
    [web1] = load(tmp_path, "vars: {app_name: shop}\nhosts: {web1: {address: 10.0.0.1}}\n") \
        .resolve("web1")  # fmt: skip
    assert (web1.apps, web1.vars) == ({}, {"app_name": "shop"})


@pytest.mark.parametrize("text, expected", [
    ("apps: {Shop: {}}\n", "inventory.yaml:1: apps.Shop: an app's name is lower-case letters, "
                           "digits and -, from a letter (it names its units)"),
    ("apps: {shop: [a]}\n", "inventory.yaml:1: apps.shop: expected a mapping of settings, got "
                            "a list"),
    ("apps: {shop: {app_wrokers: 2}}\n", "inventory.yaml:1: apps.shop.app_wrokers: unknown "
                                         "setting; did you mean 'app_workers'?"),
    ("apps: {shop: {}}\nhosts: {web1: {address: 10.0.0.1, apps: [shpo]}}\n",
     "inventory.yaml:2: hosts.web1.apps.0: no app named 'shpo'; did you mean 'shop'? (apps: "
     "shop)"),
    ("hosts: {web1: {address: 10.0.0.1}}\ngroups: {web: {hosts: [web1], apps: [shop]}}\n",
     "inventory.yaml:2: groups.web.apps.0: no app named 'shop' (the inventory has no apps:)"),
])  # fmt: skip
def test_apps_are_checked_before_any_connection(tmp_path, text, expected):
    assert error_of(tmp_path, text) == expected
