"""Fabric tasks: thin wrappers that parse options and call the provision engine.

fab bootstrap -H web1              first-time server setup
fab bootstrap -H web1 --check      show what would change, change nothing
fab sandbox                        boot a local Debian test server (root needed)
"""

import os
from pathlib import Path

from fabric import task
from invoke.exceptions import Exit

from provision import cli
from provision import sandbox as sb

ROOT = Path(__file__).resolve().parent
BOOTSTRAP = ["base", "app", "ssh"]
SANDBOX = Path(os.environ.get("PROVISION_SANDBOX_DIR", ROOT / ".sandbox"))

OPTION_HELP = {
    "check": "dry run: report what would change, change nothing",
    "diff": "show the diff of every file that changes (or would)",
    "set": "override a setting, NAME=VALUE (repeatable); wins over the inventory",
    "inventory": "inventory file (default: inventory.yaml)",
    "verbose": "also say why each unchanged task needed nothing",
}


@task(iterable=["set"], help=OPTION_HELP, auto_shortflags=False)
def bootstrap(c, check=False, diff=False, set=None, inventory="inventory.yaml", verbose=False):
    """First-time server setup: packages, the app's user and directories, SSH hardening."""
    code = cli.converge(c, ROOT, "bootstrap", BOOTSTRAP, inventory, check, diff, set, verbose)
    if code:
        raise Exit(code=code)


@task(help={"stop": "halt the sandbox host and remove its files", "port": "SSH port on 127.0.0.1"})
def sandbox(c, stop=False, port=2222):
    """Boot (or --stop) a local Debian 12 server to rehearse on: `fab bootstrap -H sandbox`."""
    try:
        if stop:
            print(sb.stop_sandbox(SANDBOX))
        else:
            print(sb.start_sandbox(SANDBOX, port))
    except sb.SandboxError as e:
        raise Exit(f"error: {e}", code=2) from e
