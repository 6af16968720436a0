"""Roles: ``roles/<name>/`` with ``defaults.yaml``, ``templates/*.j2`` and ``tasks.py``.

A role's ``tasks.py`` defines ``tasks(role)``, yielding operations, and may answer the
hooks the role contract lists (``provision.api.RoleModule``). ``role`` is a
``RoleContext``: the resolved vars, the host's facts, the inventory's other hosts
(``peers``), and ``template()``. A role is loaded as a package of its own, so that its
``tasks.py`` may import the role's other modules (``from . import appcheck``).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import jinja2
import yaml

from provision.core.errors import ProvisionError
from provision.core.facts import HostFacts
from provision.core.operations import Operation
from provision.project import engine_settings, yaml_text
from provision.project.hooks import Hook
from provision.project.peers import NO_PEERS, Peers
from provision.project.schema import SchemaError, check_vars

T = TypeVar("T")

SECRETS: Hook[Iterable[str]] = Hook("secrets")
HANDLERS: Hook[dict[str, Operation]] = Hook("handlers")


class RoleError(ProvisionError):
    """A role's content is broken: a template error, a bad default, a missing handler."""


@dataclass
class Role:
    name: str
    path: Path
    defaults: dict[str, Any]
    module: ModuleType
    # a project's folders of the same name without tasks.py: their templates/ and files/
    # are found before the role's own (see roles_path)
    overlays: Sequence[Path] = ()

    def search(self, kind: str) -> list[Path]:
        """Where the role's ``templates`` or ``files`` are looked up, in order."""
        return [folder / kind for folder in [*self.overlays, self.path]]

    def env(self) -> jinja2.Environment:
        """The role's templates: compiled once, then kept (for every host of a run)."""
        return _templates(tuple(self.search("templates")))


@functools.lru_cache(maxsize=256)
def _templates(folders: tuple[Path, ...]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@functools.lru_cache(maxsize=1024)
def _expansion(text: str) -> jinja2.Template:
    """A setting's value that refers to others, compiled once."""
    return _EXPAND.from_string(text)


_EXPAND = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def load_role(path: Path, overlays: Sequence[Path] = ()) -> Role:
    """The role in folder ``path`` (named by it), with the project's ``overlays``."""
    name = path.name
    tasks = path / "tasks.py"
    if not tasks.is_file():
        raise RoleError(f"{tasks}: no such role tasks file")
    defaults_file = path / "defaults.yaml"
    try:
        defaults = yaml_text.load(defaults_file.read_text()) if defaults_file.exists() else {}
    except yaml.YAMLError as e:
        raise RoleError(f"{defaults_file}: YAML syntax error: {e}") from e
    package = f"provision_role_{name}"
    home = ModuleType(package)
    home.__path__ = [str(path)]
    for loaded in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[loaded]  # a role of this name loaded before, from elsewhere
    sys.modules[package] = home
    spec = importlib.util.spec_from_file_location(f"{package}.tasks", tasks)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return Role(name, path, defaults or {}, module, tuple(overlays))


def schema(roles: Iterable[Role]) -> dict[str, Any]:
    """Every setting the roles take, and the engine's own, with its default (which also
    gives its type)."""
    merged: dict[str, Any] = dict(engine_settings.DEFAULTS)
    for role in roles:
        merged.update(role.defaults)
    return merged


def resolve_vars(
    roles: Iterable[Role], inventory_vars: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """Role defaults < inventory (all, groups, host) < command-line overrides.

    A string value may refer to other settings, ``"/srv/{{ app_name }}"``.
    """
    roles = list(roles)
    check_vars(overrides, schema(roles))
    merged = {**schema(roles), **inventory_vars, **overrides}
    for _ in range(5):
        pending = {k: v for k, v in merged.items() if isinstance(v, str) and "{{" in v}
        if not pending:
            break
        for key, value in pending.items():
            try:
                merged[key] = _expansion(value).render(merged)
            except jinja2.TemplateError as e:
                raise SchemaError(key, f"cannot expand {value!r}: {e}") from e
    return merged


class RoleContext:
    """What a role's tasks see: ``vars``, the host's ``facts``, ``peers`` (the inventory's
    other hosts), ``apps`` (the settings of each app the server holds: what a role that
    runs once a server, nginx itself, reads of them), ``template()`` and ``file()``."""

    def __init__(
        self,
        role: Role,
        vars: dict[str, Any],
        facts: HostFacts,
        peers: Peers = NO_PEERS,
        apps: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.role = role
        self.vars = vars
        self.facts = facts
        self.peers = peers
        self.apps = list(apps) or [vars]

    @property
    def name(self) -> str:
        return self.role.name

    def template(self, name: str, **extra: Any) -> str:
        """Render ``templates/<name>`` with the vars, ``facts``, ``peers`` and ``extra``."""
        where = f"roles/{self.role.name}/templates/{name}"
        try:
            template = self.role.env().get_template(name)
            return template.render({**self.vars, "facts": self.facts, "peers": self.peers, **extra})
        except jinja2.TemplateSyntaxError as e:
            raise RoleError(f"{where}:{e.lineno}: template syntax error: {e.message}") from e
        except jinja2.TemplateNotFound as e:
            raise RoleError(f"{where}: no such template") from e
        except jinja2.UndefinedError as e:
            line = _template_line(e, template.filename)
            raise RoleError(f"{where}:{line}: {e.message}") from e

    def file(self, name: str) -> str:
        """The text of the role's ``files/<name>``, uploaded as it is (a project's overlay
        of the role is looked in first)."""
        for folder in self.role.search("files"):
            if (folder / name).is_file():
                return (folder / name).read_text()
        raise RoleError(f"roles/{self.role.name}/files/{name}: no such file")

    def tasks(self) -> list[Operation]:
        return list(self.role.module.tasks(self))

    def secrets(self) -> list[str]:
        """Values the role declares secret: masked in everything shown."""
        return [s for s in SECRETS.answer(self.role, self) or () if s]

    def handlers(self) -> dict[str, Operation]:
        return dict(HANDLERS.answer(self.role, self) or {})


def merged(
    hook: Hook[dict[str, T]],
    roles: Iterable[Role],
    vars: dict[str, Any],
    facts: HostFacts,
    peers: Peers,
    apps: Sequence[dict[str, Any]] = (),
) -> dict[str, T]:
    """What each role answers to ``hook`` (a dict by name: the logs it names, the probes it
    shows), merged in the roles' order; ``apps``: as ``RoleContext`` takes them."""
    found: dict[str, T] = {}
    context = lambda role: (RoleContext(role, vars, facts, peers, apps),)  # noqa: E731
    for _, made in hook.answers(roles, context):
        found.update(made)
    return found


def _template_line(error: Exception, filename: str | None) -> int | str:
    line: int | str = "?"
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if filename and frame.f_code.co_filename == filename:
            line = lineno
    return line
