"""The container road for one app: its image, its compose file, its Kubernetes manifests,
all from the inventory's settings for the app, as a deploy reads them.

What is written: the Containerfile into the app's source (so that people read it and
build it themselves), the build context under ``.provision/containers/<app>/``, and the
compose file and manifests under ``containers/<app>/`` of the project. Secret values are
never written: the files name them, and the commands print them for a pipe only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provision.containers import image as images
from provision.containers.parts import Containers, Image, Secret, gather
from provision.project.roles import Role, RoleError
from provision.release.artifact import Source, is_git_url
from provision.release.wheels import Wheels

STATE = Path(".provision/containers")  # the build contexts, under the project
OUT = Path("containers")  # the compose files and manifests, under the project
HEADER = "# Written by `provision {command}` from the inventory; edit the inventory, not this.\n"


@dataclass
class Road:
    """One app's parts, with its image's name and tag once ``resolve`` ran."""

    name: str  # the app's name
    roles: list[Role]
    settings: dict[str, Any]
    root: Path  # the project
    repository: str = ""  # the image's name, without its tag
    tag: str = ""
    parts: Containers = field(default_factory=Containers)
    written: list[Path] = field(default_factory=list)

    @property
    def image_ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def image(self) -> Image:
        if self.parts.image is None:
            raise RoleError("no role of the container road (roles/plays.yaml: containers) "
                            "says how the app's image is built (Containers.image)")  # fmt: skip
        return self.parts.image

    def resolve(self, work: Path) -> tuple[Source, Wheels]:
        """Read the parts with the image named: its source (checked out in ``work`` from a
        git URL) and wheels, resolved, give it its tag."""
        self.parts = gather(self.roles, self.settings, "")
        found = images.prepare(self.image, self.root, work)
        self.tag = images.tag_of(self.image, *found)
        self.repository = str(self.settings["container_image"])
        self.parts = gather(self.roles, self.settings, self.image_ref)
        return found

    def write_image(self) -> images.Context:
        """The Containerfile in the app's source, and the build context."""
        with tempfile.TemporaryDirectory() as work:
            source, found = self.resolve(Path(work))
            context = images.write_context(self.image, source, found,
                                           self.root / STATE / self.name, self.tag)  # fmt: skip
            if not is_git_url(self.image.source):
                self._write(source.path / images.CONTAINERFILE, self.image.containerfile)
        return context

    def write_compose(self) -> Path:
        with tempfile.TemporaryDirectory() as work:
            self.resolve(Path(work))
        folder = self.root / OUT / self.name
        for name, text in self.parts.files.items():
            self._write(folder / name, text)
        path = folder / "compose.yaml"
        self._write(path, HEADER.format(command="compose") + dump(ordered(self.parts.compose)))
        return path

    def write_kube(self) -> list[Path]:
        with tempfile.TemporaryDirectory() as work:
            self.resolve(Path(work))
        folder = self.root / OUT / self.name / "kube"
        written = []
        for obj in self.parts.kube:
            if obj["kind"] == "Secret":
                continue  # its values are printed for a pipe (secret_manifest), never written
            path = folder / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
            self._write(path, HEADER.format(command="kube") + dump(obj))
            written.append(path)
        return written

    def gather_secrets(self) -> dict[str, Secret]:
        """The app's secrets, by name, with where each one's value comes from."""
        self.parts = gather(self.roles, self.settings, "")
        return self.parts.secrets

    def secret_manifest(self, values: dict[str, str]) -> str:
        """The app's Secret with ``values``, for ``kubectl apply -f -`` (never a file)."""
        found = [o for o in self.parts.kube if o["kind"] == "Secret"]
        for obj in found:
            obj["stringData"] = {key: values[key] for key in obj["stringData"]}
        return "".join(f"---\n{dump(o)}" for o in found)

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.written.append(path)


# compose's keys in the order people write them; others follow, as the roles gave them
TOP = ("name", "services", "volumes")
SERVICE = ("image", "command", "restart", "depends_on", "environment", "expose", "ports",
           "volumes", "healthcheck", "stop_signal", "stop_grace_period")  # fmt: skip


def ordered(compose: dict[str, Any]) -> dict[str, Any]:
    """The compose file with its keys, and each service's, in the order people write them."""

    def by(order: tuple[str, ...], data: dict[str, Any]) -> dict[str, Any]:
        first = {key: data[key] for key in order if key in data}
        return {**first, **{key: value for key, value in data.items() if key not in first}}

    services = {name: by(SERVICE, spec) for name, spec in compose.get("services", {}).items()}
    return by(TOP, {**compose, "services": services})


def dump(data: Any) -> str:
    """YAML as people write it: keys in the order given, block style, long lines kept."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
