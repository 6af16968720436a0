"""What a failed release shows of the app's log: the cause first, then how it ended."""

from __future__ import annotations


def log_excerpt(lines: list[str], tail: int = 25) -> str:
    """The first traceback in ``lines`` (the cause), then the last ``tail`` lines.

    A release that fails under the live service often fails again and again while the
    health gate waits (systemd restarts it), and its last lines can be a restart's noise.
    """
    if not lines:
        return "(nothing was logged)"
    first = next((i for i, line in enumerate(lines) if line.startswith("Traceback (")), None)
    if first is None or first >= len(lines) - tail:
        return "\n".join(lines[-tail:])
    end = first + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    if end >= len(lines) - tail:  # the cause runs into the last lines: show it all once
        return "\n".join(lines[first:])
    cause = lines[first : end + 1]
    if len(cause) > 40:  # a deep traceback: keep where it starts and how it ends
        cause = [*cause[:10], "  ...", *cause[-29:]]
    return "\n".join([*cause, "...", *lines[-tail:]])
