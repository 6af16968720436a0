"""A firewall by default: nftables, inbound only what the host serves; never in a
container that shares its host's network."""

import ipaddress

from provision.api import (
    NetworkHome,
    NoChange,
    Operation,
    RoleError,
    SchemaError,
    SshdPorts,
    apt,
    files,
    made_from,
    skip_if,
    systemd,
)

RULES = "/etc/provision/firewall.nft"
UNIT = "provision-firewall"


def check(v, root):
    for key in ("firewall_trusted",):
        for address in v[key]:
            try:
                ipaddress.ip_network(str(address), strict=False)
            except ValueError:
                raise SchemaError(key, f"{address!r} is not an address or a CIDR range") from None
    for port in v["firewall_open_ports"]:
        if not isinstance(port, int) or not 0 < port < 65536:
            raise SchemaError("firewall_open_ports", f"{port!r} is not a TCP port number")


def split(addresses):
    """(IPv4, IPv6) of addresses or ranges, as nftables writes them."""
    nets = [ipaddress.ip_network(str(a), strict=False) for a in addresses]
    shown = [(n.version, str(n.network_address) if n.num_addresses == 1 else str(n)) for n in nets]
    return [s for v, s in shown if v == 4], [s for v, s in shown if v == 6]


def balancers(role):
    """On an app server: the addresses of the balancers that send to it."""
    if role.vars["serves"] != "app":
        return []
    found = [p.private_address for p in role.peers.naming_me("balancer_upstream")
             if p.vars["serves"] == "balancer"]  # fmt: skip
    try:
        return [str(ipaddress.ip_address(a)) for a in found]
    except ValueError as e:
        raise RoleError(f"private_address of a balancer: {e} (the firewall needs an IP)") from e


def rules(role, ssh_ports):
    v = role.vars
    trusted_v4, trusted_v6 = split(v["firewall_trusted"])
    app_v4, app_v6 = split(balancers(role))
    return role.template("firewall.nft.j2", ssh_ports=list(ssh_ports) or [22],
                         web=v["serves"] != "app", trusted_v4=trusted_v4, trusted_v6=trusted_v6,
                         app_v4=app_v4, app_v6=app_v6, app_ports=app_ports(role))  # fmt: skip


def app_ports(role):
    """The apps' ports, as nftables matches them: ``8000``, or ``{ 8000, 8102 }``."""
    ports = sorted({app["app_port"] for app in role.apps})
    return str(ports[0]) if len(ports) == 1 else f"{{ {', '.join(map(str, ports))} }}"


def tasks(role):
    v = role.vars
    if not v["firewall_enabled"]:
        yield systemd.units_absent(f"{UNIT}.service", [], "firewall (firewall_enabled: false)")
        return
    home = NetworkHome()
    # netbase: /etc/protocols, where nft looks up the protocol names of the rules
    yield apt.packages(["nftables", "netbase"], v["apt_cache_valid_time"],
                       v["apt_install_recommends"])  # fmt: skip
    yield files.directory("/etc/provision", mode=0o755)

    def rules_file(ports):
        # checked whole before it is written; sshd's own ports: never shut out
        return files.file(RULES, rules(role, ports), validate="nft -c -f %s",
                          notify=f"load {UNIT}", name=f"rules {RULES}")  # fmt: skip

    yield skip_if(made_from(SshdPorts(), rules_file, (22,)), home)
    unit = role.template("firewall.service.j2", rules=RULES)
    yield skip_if(files.file(f"/etc/systemd/system/{UNIT}.service", unit,
                             notify=["daemon-reload firewall", f"load {UNIT}"]), home)  # fmt: skip
    yield skip_if(systemd.service(UNIT, running=True, enabled=True), home)
    # the app's port table of earlier versions: these rules take its place
    for app in role.apps:
        yield systemd.units_absent(f"provision-{app['app_name']}-port.service", [],
                                   "old app port")  # fmt: skip
    yield note(home, v, app_ports(role))


def note(home, v, ports):
    """Says what is let in, or why no rule is loaded here."""

    def decide(why):
        if why:
            return NoChange(f"no rules: {why}")
        what = ["SSH", *(["HTTP, HTTPS"] if v["serves"] != "app" else [])]
        if v["serves"] == "app":
            what.append(f"port {ports.strip('{} ')} from the balancers")
        return NoChange(f"inbound: {', '.join(what)}; all else dropped")

    return Operation("firewall", {"why": home}, decide, loud=True)


def handlers(role):
    return {"daemon-reload firewall": systemd.daemon_reload(),
            f"load {UNIT}": systemd.reload_or_restart(UNIT)}  # fmt: skip
