"""The apps a server holds: each noted on it by the app role (``NOTES/<name>``: its folder
and its user). The first task of every play compares them with the apps the inventory
gives the server, before anything changes: an app the server holds that the inventory no
longer names is said and left alone (`provision remove --app NAME` removes it); an app
that would take such an app's user or folder (a rename), or an app whose user or folder
the inventory changed, is refused.
"""

from dataclasses import dataclass

from provision.api import Fact, NoChange, Operation, OperationError, sh

NOTES = "/var/lib/provision/apps"  # a file per app: "<app_root> <app_user>"
OLD_NOTE = "/var/lib/provision/app"  # "<app_name> <app_root>": the one app, before 0.3


@dataclass(frozen=True)
class Held:
    name: str
    root: str
    user: str


@dataclass(frozen=True)
class AppsHere(Fact[tuple[Held, ...]]):
    """The apps a server holds: those noted, and (for a server set up before the notes)
    every /srv/<name> with releases, its user the owner of its shared/."""

    def command(self):
        return sh(
            'for f in {notes}/*; do [ -f "$f" ] && echo "${{f##*/}} $(cat "$f")"; done; '
            'if [ -f {old} ]; then read n r < {old}; echo "$n $r $(stat -c %U "$r/shared")"; '
            'fi; for d in /srv/*/releases; do r="${{d%/releases}}"; [ -d "$d" ] && '
            'echo "${{r##*/}} $r $(stat -c %U "$r/shared")"; done',
            notes=NOTES,
            old=OLD_NOTE,
        )

    def parse(self, output):
        found = {}
        for line in output.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] not in found:
                found[parts[0]] = Held(*parts)
        return tuple(found.values())


def holds(host, apps):
    """Compare the apps the server holds with ``apps`` (their settings), the inventory's."""
    named = {v["app_name"]: v for v in apps}

    def decide(held):
        for h in held:
            v = named.get(h.name)
            if v is not None and (v["app_root"], v["app_user"]) != (h.root, h.user):
                raise OperationError(
                    f"{h.name} is in {h.root} as user {h.user} on this server; the inventory "
                    f"gives it {v['app_root']} and user {v['app_user']}. An app is not moved "
                    f"in place: set app_root: {h.root} and app_user: {h.user} for it (with "
                    f"apps:, each app's user is its name by default), or remove it first "
                    f"(`provision remove --app {h.name} -H {host}`) and deploy it anew"
                )
        gone = [h for h in held if h.name not in named]
        for h in gone:
            for v in named.values():
                taken = [what for what, key, its in (("folder", "app_root", h.root),
                         ("user", "app_user", h.user)) if v[key] == its]  # fmt: skip
                if taken:
                    raise OperationError(
                        f"{v['app_name']} would take the {taken[0]} of {h.name} ({h.root}, user "
                        f"{h.user}), an app this server holds that the inventory no longer "
                        f"names. Renaming an app is a remove and an add: `provision remove "
                        f"--app {h.name} -H {host}` first (its data is kept), or give "
                        f"{v['app_name']} an app_user and app_root of its own"
                    )
        if gone:
            listed = ", ".join(f"{h.name} (in {h.root})" for h in gone)
            return NoChange(f"also here, not in the inventory: {listed}; left alone "
                            "(`provision remove --app NAME` removes one)", loud=True)  # fmt: skip
        here = [n for n in named if n in {h.name for h in held}]
        return NoChange(f"holds {', '.join(here)}" if here else "no app here yet")

    return Operation("apps here", {"held": AppsHere()}, decide)


def tasks(role):
    yield holds(role.peers.me.name, role.apps)
