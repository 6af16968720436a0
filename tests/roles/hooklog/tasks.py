"""A test role: one step at every hook point, each logging "<point> <release> <previous>"."""

from provision.api import HOOK_POINTS, Command, Hooks, Step


def tasks(role):
    return []


def release(role):
    v = role.vars

    def step(point):
        def commands(ctx):
            line = f"{point} {ctx.release} {ctx.previous or '-'}"
            log = Command.script("echo {line} >> {log}", line=line, log=v["hooklog_path"])
            return [log, *([Command.of("false")] if v["hooklog_fail_at"] == point else [])]

        return Step(f"log {point}", commands)

    return Hooks({point: [step(point)] for point in HOOK_POINTS})
