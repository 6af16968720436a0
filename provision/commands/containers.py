"""`provision image`, `provision compose` and `provision kube`: the container road, from
the inventory's settings for each app, with no connection.

Example::

    image(Asked(root), build=True)   # the Containerfile, its context, the image
    compose(Asked(root), env=True)   # KEY='value' lines of the app's secrets
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.containers import image as images
from provision.containers.parts import Containers
from provision.containers.road import Road
from provision.core.output import shown
from provision.project.inventory import InventoryError
from provision.project.plays import Project, parse_overrides
from provision.project.roles import RoleError, resolve_vars
from provision.project.schema import SchemaError
from provision.project.secret_sources import secret_value
from provision.release.artifact import ArtifactError
from provision.release.wheels import UV_VERSION


@dataclass
class Asked:
    """What every command of the road takes: the project, the inventory, ``--app``, ``--set``."""

    root: Path
    inventory: str = "inventory.yaml"
    app: str = ""
    sets: list[str] = field(default_factory=list)


def roads(asked: Asked) -> list[Road]:
    """Each app of the inventory (or the one ``--app`` names), with its settings."""
    project = Project.load(asked.root, asked.inventory)
    overrides = parse_overrides(asked.sets)
    project.check_overrides(overrides)
    roles, every = project.road(), list(project.roles.values())
    if not roles:
        raise RoleError("roles/plays.yaml names no roles for the container road (containers:)")
    found = []
    for name, given in project.apps_given().items():
        if asked.app and name != asked.app:
            continue
        settings = resolve_vars(every, given, overrides)
        found.append(Road(settings["app_name"], roles, settings, asked.root))
    if not found:
        raise InventoryError(f"--app {asked.app}: no such app in {asked.inventory}")
    return found


def guarded(work: Any) -> int:
    """``work()``'s exit status; an error in the input, said in one line, is 2."""
    try:
        return work()
    except SchemaError as e:
        print(f"error: {e.key}: {e.message}", file=sys.stderr)
    except (InventoryError, RoleError, ArtifactError) as e:
        print(f"error: {e}", file=sys.stderr)
    return 2


def _notes(parts: Containers, road: str) -> None:
    for note in parts.notes:
        if note.startswith(f"{road}: "):
            print(f"   note: {note.removeprefix(f'{road}: ')}")


def image(asked: Asked, build: bool = True, base: str = "") -> int:
    def work() -> int:
        for road in roads(asked):
            start = time.monotonic()
            context = road.write_image()
            print(f"-- {road.name}: image {road.image_ref}")
            for path in road.written:
                print(f"   wrote {shown(path)}")
            print(f"   build context {shown(context.path)}/: the app's files, "
                  f"{context.pins} pinned packages as wheels, uv {UV_VERSION} "
                  f"({time.monotonic() - start:.1f} s)")  # fmt: skip
            command = images.build_command(Path(shown(context.path)), road.image_ref, base)
            if not build:
                print(f"   build it: {' '.join(command)}")
                continue
            start = time.monotonic()
            made = images.build(context.path, road.image_ref, base)
            print(f"   built {road.image_ref} with buildah: {made[:12]} "
                  f"({time.monotonic() - start:.1f} s)")  # fmt: skip
        return 0

    return guarded(work)


def compose(asked: Asked, env: bool = False) -> int:
    def work() -> int:
        for road in roads(asked):
            if env:
                sys.stdout.write(secrets_text(road, dotenv=True))
                continue
            path = road.write_compose()
            print(f"-- {road.name}: compose file for {road.image_ref}")
            for written in road.written:
                print(f"   wrote {shown(written)}")
            _notes(road.parts, "compose")
            names = ", ".join(road.parts.secrets) or "none"
            print(f"   secrets, by name only: {names}")
            print(f"   run it: docker compose -f {shown(path)} --env-file "
                  "<(provision compose --env) up -d")  # fmt: skip
        return 0

    return guarded(work)


def kube(asked: Asked, secret: bool = False) -> int:
    def work() -> int:
        for road in roads(asked):
            if secret:
                sys.stdout.write(secrets_text(road, dotenv=False))
                continue
            written = road.write_kube()
            print(f"-- {road.name}: Kubernetes manifests for {road.image_ref}")
            for path in written:
                print(f"   wrote {shown(path)}")
            _notes(road.parts, "kube")
            folder = shown(written[0].parent)
            print(f"   apply: provision kube --secret | kubectl apply -f - && "
                  f"kubectl apply -f {folder}")  # fmt: skip
        return 0

    return guarded(work)


def secrets_text(road: Road, dotenv: bool) -> str:
    """The app's secrets, read from where the inventory says: ``KEY='value'`` lines (for
    ``--env-file``), or its Secret for ``kubectl apply -f -``."""
    values = {name: secret_value(s.setting, name, s.source)
              for name, s in road.gather_secrets().items()}  # fmt: skip
    if dotenv:
        return "".join(f"{name}={_quoted(value)}\n" for name, value in values.items())
    return road.secret_manifest(values)


def _quoted(value: str) -> str:
    """A value as compose's env files read it: single-quoted, taken as it is; one with a
    quote or a newline, double-quoted with those escaped."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
