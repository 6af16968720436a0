"""systemd units: wanted state, and the one-shot actions handlers run."""

from __future__ import annotations

from provision.core.command import Command
from provision.core.facts import FileNames, UnitState
from provision.core.operations.base import Change, NoChange, Operation


def service(name: str, running: bool | None = True, enabled: bool = True) -> Operation:
    """A unit is running (or stopped, or left as it is: ``None``) and enabled at boot (or not).

    When its unit file changed on disk since systemd read it, systemd reads it again
    first, so that what starts is what the file says.

    Example: ``service("nginx")``
    """

    def decide(unit: dict[str, str]) -> Change | NoChange:
        # A unit not found yet may come with a package an earlier task installs (or, in
        # check mode, would install); if it is still missing, systemctl says so.
        commands = []
        if unit.get("NeedDaemonReload") == "yes":
            commands.append(Command.of("systemctl", "daemon-reload"))
        is_enabled = unit.get("UnitFileState") in ("enabled", "enabled-runtime", "alias")
        if enabled != is_enabled and unit.get("UnitFileState") != "static":
            commands.append(Command.of("systemctl", "enable" if enabled else "disable", name))
        is_running = unit.get("ActiveState") in ("active", "reloading", "activating")
        if running is not None and running != is_running:
            commands.append(Command.of("systemctl", "start" if running else "stop", name))
        if not commands:
            state = (
                unit.get("ActiveState")
                if running is None
                else ("running" if running else "stopped")
            )
            return NoChange(f"{name} is {state}, {unit.get('UnitFileState')}")
        return Change(commands, " and ".join(str(c.parts[1]) for c in commands))

    return Operation(f"service {name}", {"unit": UnitState(name)}, decide)


UNITS = "/etc/systemd/system"


def directives(*layers: dict[str, object], **more: object) -> str:
    """``Key=value`` lines of a unit section: each layer over the one before, in order; a
    None value leaves its key out.

    Example: ``directives({"ProtectSystem": "strict", "PrivateUsers": "yes"},
    {"PrivateUsers": None})`` -> ``"ProtectSystem=strict\n"``
    """
    merged: dict[str, object] = {}
    for layer in (*layers, more):
        merged.update(layer)
    return "".join(f"{key}={value}\n" for key, value in merged.items() if value is not None)


def units_absent(pattern: str, keep: list[str], name: str) -> Operation:
    """Of the unit files in /etc/systemd/system that match ``pattern``, those not in
    ``keep`` are stopped, disabled and removed (units a role made for settings since taken
    out of the inventory).

    Example: ``units_absent("hello-process-*", ["hello-process-worker.service"], "processes")``
    """

    def decide(found: tuple[str, ...]) -> Change | NoChange:
        gone = [unit for unit in found if unit not in keep]
        if not gone:
            return NoChange(f"no other {pattern} units")
        commands = [Command.of("systemctl", "disable", "--now", *gone),
                    Command.of("rm", "-f", *(f"{UNITS}/{unit}" for unit in gone)),
                    Command.of("systemctl", "daemon-reload")]  # fmt: skip
        return Change(commands, f"removed {', '.join(gone)}")

    return Operation(name, {"found": FileNames(UNITS, pattern)}, decide)


def _action(verb: str, unit: str | None = None) -> Operation:
    parts = ("systemctl", verb, unit) if unit else ("systemctl", verb)
    label = " ".join(parts[1:])

    def decide() -> Change:
        return Change([Command.of(*parts)], "")

    return Operation(label, {}, decide)


def reload(unit: str) -> Operation:
    """Reload a unit (a handler's action: always acts when it runs)."""
    return _action("reload", unit)


def restart(unit: str) -> Operation:
    """Restart a unit (a handler's action: always acts when it runs)."""
    return _action("restart", unit)


def reload_or_restart(unit: str) -> Operation:
    """Reload a unit, or start it when it is not running (a handler's action)."""
    return _action("reload-or-restart", unit)


def try_restart(unit: str) -> Operation:
    """Restart a unit if it is running, so that it runs as its file now says; leave it
    stopped otherwise; stop it if its file is gone (a failed deploy put the server back
    as it was before the unit existed). A handler's action."""

    def decide(state: dict[str, str]) -> Change | NoChange:
        running = state.get("ActiveState") in ("active", "activating", "reloading")
        if state.get("LoadState") == "not-found":  # and its enablement goes with the file
            unlink = Command.script("rm -f {units}/*.wants/{unit}", units=UNITS, unit=unit)
            if running:
                stop = Command.of("systemctl", "stop", unit)
                return Change([stop, unlink], "stop: its file is gone")
            return Change([unlink], "its file is gone")
        if not running:
            return NoChange(f"{unit} is not running")
        return Change([Command.of("systemctl", "try-restart", unit)], "")

    return Operation(f"try-restart {unit}", {"state": UnitState(unit)}, decide)


def daemon_reload() -> Operation:
    """Make systemd read changed unit files (a handler's action)."""
    return _action("daemon-reload")
