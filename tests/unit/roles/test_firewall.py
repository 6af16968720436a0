"""The firewall (roles/firewall): the rules each kind of host gets, and the settings
refused before any connection."""

import pytest

from provision.project.inventory import InventoryError
from tests.fleet import context, preflight, project


def rules(tmp_path, host, ports=(22,), **settings):
    ctx = context(project(tmp_path), "firewall", host, **settings)
    return ctx.role.module.rules(ctx, ports)


def test_a_single_server_lets_in_ssh_http_and_https_and_drops_the_rest(tmp_path):
    text = rules(tmp_path, "solo", ports=(22, 2222))
    assert "type filter hook input priority filter; policy drop;" in text
    assert "        tcp dport { 22, 2222 } accept\n" in text  # every port sshd listens on
    assert "        tcp dport { 80, 443 } accept\n" in text
    assert "ct state established,related accept" in text  # the session loading it lives on
    assert ("tcp dport { 22, 2222 } ct state new add @ssh_meter_v4 { ip saddr limit rate over "
            "30/minute burst 60 packets } drop") in text  # fmt: skip
    assert "8000" not in text


def test_an_app_server_lets_in_its_port_from_its_balancers_only(tmp_path):
    text = rules(tmp_path, "app1")
    assert "        ip saddr { 10.0.0.9 } tcp dport 8000 accept\n" in text
    assert "80, 443" not in text


def test_trusted_addresses_and_open_ports(tmp_path):
    text = rules(tmp_path, "lb", firewall_trusted=["192.0.2.0/24", "2001:db8::1"],
                 firewall_open_ports=[8443])  # fmt: skip
    assert "        ip saddr 192.0.2.0/24 tcp dport { 22 } accept\n" in text
    assert "        ip6 saddr 2001:db8::1 tcp dport { 22 } accept\n" in text
    assert "        tcp dport 8443 accept\n" in text and "tcp dport { 80, 443 } accept" in text


def test_the_rules_are_checked_loaded_at_boot_and_skipped_where_the_network_is_shared(fleet):
    ctx = context(fleet, "firewall", "solo")
    ops = {op.name: op for op in ctx.tasks()}
    rules_op = ops["rules /etc/provision/firewall.nft"]
    assert set(rules_op.facts) == {"_why", "_value", "state"}  # NetworkHome, SshdPorts, file
    skipped = rules_op.compare({"_why": "a container (docker) that shares its host's network",
                            "_value": (22,), "state": None})  # fmt: skip
    assert skipped.reason.startswith("skipped: a container (docker) that shares")
    made = rules_op.compare({"_why": "", "_value": (22, 2200), "state": None})
    assert any("nft -c -f" in c.render() for c in made.commands)
    assert "tcp dport { 22, 2200 } accept" in made.diff.new.decode()
    assert ops["firewall"].compare({"why": ""}).reason == (
        "inbound: SSH, HTTP, HTTPS; all else dropped")  # fmt: skip


def test_no_firewall_when_turned_off(fleet):
    ctx = context(fleet, "firewall", "solo", firewall_enabled=False)
    assert [op.name for op in ctx.tasks()] == ["firewall (firewall_enabled: false)"]


@pytest.mark.parametrize("setting, value, error", [
    ("firewall_trusted", ["office"], "firewall_trusted: 'office' is not an address or a CIDR"),
    ("firewall_open_ports", [70000], "firewall_open_ports: 70000 is not a TCP port number"),
])  # fmt: skip
def test_settings_are_checked_before_connecting(fleet, setting, value, error):
    with pytest.raises(InventoryError) as e:
        preflight(fleet, "solo", **{setting: value})
    assert str(e.value).startswith(f"--set {error}"), str(e.value)
