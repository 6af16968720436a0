"""Server-made secrets: the operations' commands, and their scripts run for real on
local files (they are plain python3, as on the server)."""

import hashlib
import subprocess

from provision.core.facts import PathState
from provision.core.operations import Change, NoChange, secret
from provision.core.operations.secret import SecretTemplateDigest

PH = "@@pw@@"
TEMPLATE = f"URL=pg://app:{PH}@localhost/app\n"
WANTED = hashlib.sha256(TEMPLATE.encode()).hexdigest()


def run(command):
    """Run a command as the server's shell would."""
    done = subprocess.run(["sh", "-c", command.render()], input=command.stdin,
                          capture_output=True, text=False)  # fmt: skip
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def mine(tmp_path):
    """The same operations, owned by whoever runs the tests."""
    import grp
    import os
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def test_a_secret_is_made_once_and_never_read_back(tmp_path):
    owner, group = mine(tmp_path)
    path = str(tmp_path / "secrets" / "pw")
    op = secret.generated(path, owner=owner, group=group)
    plan = op.compare({"state": None})
    assert isinstance(plan, Change)
    for command in plan.commands:
        assert run(command)[0] == 0, command.render()
    value = (tmp_path / "secrets" / "pw").read_text()
    assert len(value) == 43 and "\n" not in value
    assert (tmp_path / "secrets" / "pw").stat().st_mode & 0o777 == 0o600
    kept = op.compare({"state": PathState("file", owner, group, 0o600)})
    assert kept == NoChange(f"{path} exists")


def test_a_template_gets_the_secret_on_the_server_and_compares_without_it(tmp_path):
    owner, group = mine(tmp_path)
    (tmp_path / "pw").write_text("s3cr3t-value")
    path, pairs = str(tmp_path / ".env"), {PH: str(tmp_path / "pw")}
    op = secret.template(path, TEMPLATE, pairs, owner=owner, group=group)
    fact = SecretTemplateDigest(path, tuple(pairs.items()))
    assert subprocess.run(["sh", "-c", fact.command()], capture_output=True).stdout == b""

    plan = op.compare({"state": None, "digest": None})
    assert isinstance(plan, Change) and plan.diff.sensitive
    assert all("s3cr3t" not in c.render() for c in plan.commands)
    for command in plan.commands:
        assert run(command)[0] == 0, command.render()
    assert (tmp_path / ".env").read_text() == "URL=pg://app:s3cr3t-value@localhost/app\n"

    out = subprocess.run(["sh", "-c", fact.command()], capture_output=True, text=True).stdout
    assert fact.parse(out) == WANTED
    state = PathState("file", owner, group, 0o600)
    assert op.compare({"state": state, "digest": WANTED}) == NoChange(
        f"{path} has the wanted content, owner and mode"
    )
    changed = secret.template(path, TEMPLATE + "DEBUG=1\n", pairs, owner=owner, group=group)
    assert isinstance(changed.compare({"state": state, "digest": WANTED}), Change)


def test_a_template_whose_secret_is_missing_fails_and_says_why(tmp_path):
    path, pairs = str(tmp_path / ".env"), {PH: str(tmp_path / "no-such-secret")}
    plan = secret.template(path, TEMPLATE, pairs).compare({"state": None, "digest": None})
    assert run(plan.commands[0])[0] == 0
    code, _, err = run(plan.commands[1])
    assert code != 0 and "no secret at" in err and "no-such-secret" in err
    assert not (tmp_path / ".env").exists()
