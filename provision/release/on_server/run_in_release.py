"""Run on the server: a command in a release, as the app's processes run.

    python3 -I run_in_release.py ENV_FILE APP_ROOT RELEASE COMMAND

COMMAND is a shell command line, run in RELEASE (``current`` is resolved first, so that a
process keeps the release it started in when another goes live) with the release's
virtualenv first on PATH and the settings of ENV_FILE (``KEY="json string"`` lines, as the
app role writes them) as its whole environment. A missing ENV_FILE gives no settings.
A simple command (words and quotes, no shell syntax) is run as this very process, so that
a stop signal reaches it directly; anything else is run by ``sh -c``.
"""

import json
import os
import re
import shlex
import sys

env_file, root, release, command = sys.argv[1:5]
release = os.path.realpath(release)
env = {
    "PATH": release + "/venv/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": root,
    "VIRTUAL_ENV": release + "/venv",
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
}
if os.environ.get("TERM"):
    env["TERM"] = os.environ["TERM"]
try:
    with open(env_file) as lines:
        for line in lines:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep and not line.startswith("#"):
                env[key] = json.loads(value)
except FileNotFoundError:
    pass
os.chdir(release)
if re.search(r"[|&;<>()$`*?\[\]{}~#\n]|^\s*\w+=", command) is None and command.strip():
    argv = shlex.split(command)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        sys.exit(f"{argv[0]}: {e.strerror} (PATH: {env['PATH']})")
os.execvpe("sh", ["sh", "-c", command], env)
