"""SSH hardening: keys only, root key-only or off once a sudo deploy user exists."""

from pathlib import Path

from provision.api import RoleError, files, server, systemd

SSHD_CONF = "/etc/ssh/sshd_config.d/10-provision.conf"


def tasks(role):
    v = role.vars
    user = v["deploy_user"]
    permit = v["ssh_permit_root_login"] or ("no" if user else "prohibit-password")
    if permit not in ("no", "prohibit-password"):
        raise RoleError(
            f"ssh_permit_root_login: expected 'no' or 'prohibit-password', got {permit!r}"
        )
    if user:
        keys = [_key_text(k) for k in v["deploy_user_keys"]]
        if not keys:
            raise RoleError("deploy_user_keys: empty; give the keys deploy_user logs in with")
        home = f"/home/{user}"
        yield server.group(user, system=False)
        yield server.user(
            user,
            group=user,
            home=home,
            shell="/bin/bash",
            system=False,
            create_home=True,
            groups=["sudo"],
        )
        yield files.directory(f"{home}/.ssh", owner=user, group=user, mode=0o700)
        yield files.file(
            f"{home}/.ssh/authorized_keys",
            "\n".join(keys) + "\n",
            owner=user,
            group=user,
            mode=0o600,
        )
        yield files.file(
            f"/etc/sudoers.d/provision-{user}",
            f"{user} ALL=(ALL) NOPASSWD:ALL\n",
            mode=0o440,
            validate="visudo -cqf %s",
        )
    yield files.file(
        SSHD_CONF,
        role.template("sshd.conf.j2", permit_root_login=permit),
        validate="sshd -t",
        notify="reload ssh",
    )
    yield systemd.service("ssh", running=True, enabled=True)


def handlers(role):
    return {"reload ssh": systemd.reload("ssh")}


def _key_text(entry):
    if entry.split(" ", 1)[0].startswith(("ssh-", "ecdsa-", "sk-")):
        return entry.strip()
    path = Path(entry).expanduser()
    if not path.is_file():
        raise RoleError(f"deploy_user_keys: {entry!r} is neither a public key nor a file")
    return path.read_text().strip()
