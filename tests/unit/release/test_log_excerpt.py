"""What a failed release shows of the app's log."""

from provision.release.log_excerpt import log_excerpt

CRASH = [
    "[ERROR] Exception in worker process",
    "Traceback (most recent call last):",
    '  File "/srv/hello/current/main.py", line 60, in <module>',
    '    raise RuntimeError("only fails when live")',
    "RuntimeError: only fails when live",
    "[INFO] Worker exiting (pid: 12)",
    "[ERROR] Reason: Worker failed to boot.",
]

RESTART = ["hello.service: Scheduled restart job", "[INFO] Starting gunicorn 27.0.1",
           *[f"[INFO] Booting worker with pid: {pid}" for pid in range(20, 50)]]  # fmt: skip


def test_log_excerpt_shows_the_first_traceback_then_the_last_lines():
    text = log_excerpt(["[INFO] Handling signal: hup", *CRASH, *RESTART, *CRASH[:2]])
    lines = text.splitlines()
    assert lines[:4] == CRASH[1:5]  # the cause, though a restart's noise came after it
    assert lines[4] == "..."
    assert lines[5:] == [*RESTART, *CRASH[:2]][-25:]


def test_log_excerpt_of_a_short_log_is_the_log():
    assert log_excerpt(CRASH) == "\n".join(CRASH)
    assert log_excerpt(["a", "b"]) == "a\nb"
    assert log_excerpt([]) == "(nothing was logged)"


def test_log_excerpt_keeps_the_end_of_a_deep_traceback():
    deep = [CRASH[1], *[f'  File "m{i}.py", line 1, in <module>' for i in range(60)], CRASH[4]]
    lines = log_excerpt([*deep, *RESTART]).splitlines()
    assert lines[0] == CRASH[1] and "RuntimeError: only fails when live" in lines
    assert lines.index("...") == 40
