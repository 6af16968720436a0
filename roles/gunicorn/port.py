"""The app's port, checked free on the server before its service is set up: another
program listening there (another app's, a database's) would take the app's requests or
keep it from starting."""

from dataclasses import dataclass

from provision.api import Fact, NoChange, Operation, OperationError, sh


@dataclass(frozen=True)
class Listeners(Fact[tuple[tuple[str, str, str], ...]]):
    """The programs listening on TCP ``port``: (pid, name, control group) of each."""

    port: int

    def command(self):
        # each process's name and group read by the shell itself: this runs at every
        # deploy, and a program for each of gunicorn's processes took 10 ms
        return sh(
            "for x in $(ss -Hltnp {where} | grep -o 'pid=[0-9]*'); do p=${{x#pid=}}; c=; g=; "
            'read -r c < /proc/$p/comm; read -r g < /proc/$p/cgroup; echo "$p $c $g"; done',
            where=f"sport = :{self.port}",
        )

    def parse(self, output):
        lines = dict.fromkeys(line for line in output.splitlines() if line.count(" ") >= 2)
        return tuple(tuple(line.split(" ", 2)) for line in lines)  # once a process


def port_free(app, port):
    """Nothing but the app's own service listens on ``port``."""

    def decide(listeners):
        others = [(pid, name) for pid, name, group in listeners
                  if not group.endswith(f"/{app}.service")]  # fmt: skip
        if others:
            said = ", ".join(f"{name} (pid {pid})" for pid, name in others)
            raise OperationError(f"port {port} is taken on this server by {said}: set app_port "
                                 f"(and app_check_port) to free ones for {app}")  # fmt: skip
        return NoChange(f"{app} listens there" if listeners else "nothing listens there")

    return Operation(f"port {port} free", {"listeners": Listeners(port)}, decide)
