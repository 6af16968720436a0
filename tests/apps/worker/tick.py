"""A scheduled job: notes that it ran, and from which release."""

from jobs import RELEASE, connect

connect().execute("INSERT INTO ticks (release) VALUES (?)", (RELEASE,))
print(f"tick from {RELEASE}")
