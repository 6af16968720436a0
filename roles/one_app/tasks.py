"""A server holds one app: the first task of every play refuses a server that already
holds another, before anything changes, and notes the app a server holds.

Until several apps per server exist, a second app's bootstrap would break both half-way
(its user would take the first app's home; two nginx sites would claim the default).
"""

from dataclasses import dataclass

from provision.api import Fact, NoChange, Operation, OperationError, files, sh

HELD = "/var/lib/provision/app"  # "<app_name> <app_root>" of the app this server holds


@dataclass(frozen=True)
class AppsHere(Fact[tuple[tuple[str, str], ...]]):
    """The apps a server holds, as (name, root): the one its note names, and (for a server
    set up before the note existed) every /srv/<name> with releases."""

    def command(self):
        return sh("cat {held} 2>/dev/null; ls -d /srv/*/releases 2>/dev/null", held=HELD)

    def parse(self, output):
        found = {}
        for line in output.splitlines():
            if line.startswith("/srv/") and line.endswith("/releases"):
                root = line.removesuffix("/releases")
                found.setdefault(root, root.rsplit("/", 1)[1])
            elif len(parts := line.split()) == 2:
                found[parts[1]] = parts[0]
        return tuple((name, root) for root, name in found.items())


def holds_only(name, root):
    """The server holds no app but ``name`` (at ``root``); another is an error."""

    def decide(apps):
        others = [(n, r) for n, r in apps if (n, r) != (name, root)]
        if not others:
            return NoChange(f"this server holds {name} alone" if apps else "no app here yet")
        held = ", ".join(f"{n} (in {r})" for n, r in others)
        raise OperationError(
            f"this server holds another app: {held}; provision runs one app per server for "
            f"now, and {name} would break it half-way (its user, its nginx site). Deploy "
            f"{name} to a server of its own (a host in the inventory), or, if that app is "
            f"gone for good, remove it first (its root, its units, its nginx site, {HELD})"
        )

    return Operation(f"one app: {name}", {"apps": AppsHere()}, decide)


def tasks(role):
    v = role.vars
    yield holds_only(v["app_name"], v["app_root"])
    yield files.directory(HELD.rsplit("/", 1)[0], mode=0o755)
    yield files.file(HELD, f"{v['app_name']} {v['app_root']}\n", mode=0o644)
