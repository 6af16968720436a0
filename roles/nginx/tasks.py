"""nginx in front of the app: its site, validated before every reload."""

from provision.operations import files, systemd


def tasks(role):
    v = role.vars
    yield files.absent("/etc/nginx/sites-enabled/default", notify="reload nginx")
    yield files.file(f"/etc/nginx/conf.d/{v['app_name']}.conf", role.template("site.conf.j2"),
                     validate="nginx -t -q", notify="reload nginx")  # fmt: skip
    yield systemd.service("nginx", running=True, enabled=True)


def handlers(role):
    return {"reload nginx": systemd.reload("nginx")}
