"""systemd calendar expressions (app_schedule's on_calendar) as cron's five fields, for
Kubernetes' CronJobs: the common forms; any other is refused, with the job's ``cron``
as the way to say it."""

import re

NAMED = {"minutely": "* * * * *", "hourly": "0 * * * *", "daily": "0 0 * * *",
         "weekly": "0 0 * * 1", "monthly": "0 0 1 * *", "yearly": "0 0 1 1 *",
         "annually": "0 0 1 1 *"}  # fmt: skip
DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
# [weekdays] [*-*-*] hour:minute[:00]
FORM = re.compile(r"^(?:(?P<days>[A-Za-z,.]+)\s+)?(?:\*-\*-\*\s+)?(?P<hour>[\d*/,]+):"
                  r"(?P<minute>[\d*/,]+)(?::0+)?$")  # fmt: skip


def cron(on_calendar):
    """Cron's fields for ``on_calendar``; ``ValueError`` for a form that has none here."""
    text = on_calendar.strip()
    if text.lower() in NAMED:
        return NAMED[text.lower()]
    found = FORM.match(text)
    if not found:
        raise ValueError(f"on_calendar {on_calendar!r} has no cron form here: give the job's "
                         "cron too (cron: '15 3 * * *')")  # fmt: skip
    days = found["days"]
    return f"{_field(found['minute'])} {_field(found['hour'])} * * {_days(days) if days else '*'}"


def _field(text):
    """``0/15`` -> ``*/15``; ``*``, numbers and lists as they are (leading zeros dropped)."""
    start, sep, step = text.partition("/")
    if sep:
        return f"*/{int(step)}" if start in ("*", "0", "00") else f"{int(start)}/{int(step)}"
    return text if text == "*" else ",".join(str(int(n)) for n in text.split(","))


def _days(text):
    """``Mon,Fri`` -> ``1,5``; ``Mon..Fri`` -> ``1-5``."""
    out = []
    for part in text.split(","):
        first, _, last = part.partition("..")
        days = [DAYS.index(d[:3].title()) for d in (first, last) if d]
        out.append("-".join(map(str, days)))
    return ",".join(out)
