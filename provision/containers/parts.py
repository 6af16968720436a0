"""What each role gives the container road, and how the parts make one whole.

A role answers the ``containers`` hook with a ``Containers``: the role that runs the app
says how its image is built (``Image``); every role may add services and volumes to the
compose file, objects to the Kubernetes manifests and files beside them, and name the
app's secret settings. The engine merges the answers of the ``containers`` play's roles
in their order and knows nothing of what they hold.

Example (a role's ``tasks.py``)::

    def containers(role):
        return Containers(compose={"services": {"app": {"environment": {"TZ": "UTC"}}}})
"""

from __future__ import annotations

import copy
import platform
from dataclasses import dataclass, field
from typing import Any

from provision.core.facts import HostFacts
from provision.project.hooks import Hook
from provision.project.roles import Role, RoleContext, RoleError

# The image's system, as a role sees it in ``role.facts``: Debian 12 with its python3,
# the servers' own, so that an image and a server install the very same wheels. One CPU:
# a container's share is known only where it runs (the image sizes itself at start).
IMAGE_FACTS = HostFacts(1, 0, "debian", "12", "bookworm", platform.machine(), "", "3.11", "2.36")


@dataclass
class Image:
    """How the app's image is built: its Containerfile (the build context holds the
    app's files as ``release/``, its wheels as ``wheels/`` and uv as ``uv``), the files
    added to the app's own in it, the packages installed beside its dependencies, and
    where its source and dependencies are."""

    containerfile: str
    source: str
    ref: str = ""
    files: dict[str, str] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    requirements: str = "requirements.txt"


@dataclass(frozen=True)
class Secret:
    """Where a secret's value comes from: the setting that gives it, and its source there
    (a value, ``{env: NAME}`` or ``{command: CMD}``), read only when it is printed."""

    setting: str
    source: Any


@dataclass
class Containers:
    """A role's part of the container road: see the module's docstring. ``secrets``: the
    app's settings that are secret, by name: files name them and never hold their values.
    ``notes``: what the person who runs the command should know."""

    image: Image | None = None
    compose: dict[str, Any] = field(default_factory=dict)
    kube: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


CONTAINERS: Hook[Containers] = Hook("containers")


def gather(roles: list[Role], settings: dict[str, Any], image: str) -> Containers:
    """The roles' parts, merged in the roles' order; ``image`` (``name:tag``) is what
    their templates refer to the app's image as."""
    whole = Containers()
    for role in roles:
        context = RoleContext(role, {**settings, "container_image_ref": image}, IMAGE_FACTS)
        part = CONTAINERS.answer(role, context)
        if part is None:
            continue
        if not isinstance(part, Containers):
            raise RoleError(f"roles/{role.name}: containers() must return a Containers")
        if part.image is not None:
            if whole.image is not None:
                raise RoleError(f"roles/{role.name}: one role at most may say how the "
                                "image is built (Containers.image)")  # fmt: skip
            whole.image = part.image
        whole.compose = merge(whole.compose, part.compose, f"roles/{role.name}")
        whole.kube = merge_objects(whole.kube, part.kube, f"roles/{role.name}")
        whole.files.update(part.files)
        whole.secrets.update(part.secrets)
        whole.notes += part.notes
    return whole


def merge(base: dict[str, Any], more: dict[str, Any], who: str, at: str = "") -> dict[str, Any]:
    """``more`` merged into a copy of ``base``: mappings key by key; anything else, only
    where ``base`` has no value yet or the same one (two roles never overwrite each
    other's values in silence)."""
    merged = copy.deepcopy(base)
    for key, value in more.items():
        where = f"{at}.{key}" if at else str(key)
        if key not in merged:
            merged[key] = copy.deepcopy(value)
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = merge(merged[key], value, who, where)
        elif merged[key] != value:
            raise RoleError(f"{who}: {where}: set to {value!r}, where another role set "
                            f"{merged[key]!r}")  # fmt: skip
    return merged


def merge_objects(base: list[dict[str, Any]], more: list[dict[str, Any]], who: str
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """Kubernetes objects: one of the same kind and name as one already there is merged
    into it (roles add keys to one Secret), any other is added."""
    merged = copy.deepcopy(base)
    for obj in more:
        key = (obj.get("kind"), obj.get("metadata", {}).get("name"))
        same = [i for i, o in enumerate(merged) if (o["kind"], o["metadata"]["name"]) == key]
        if same:
            merged[same[0]] = merge(merged[same[0]], obj, who, f"{key[0]} {key[1]}")
        else:
            merged.append(copy.deepcopy(obj))
    return merged
