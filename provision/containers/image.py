"""The app's image: its build context, made from the same inputs as a release, and the
build itself (buildah, where it is installed).

The context holds ``Containerfile``, ``release/`` (the app's files and the files the
roles add, as a release has them), ``wheels/`` (the resolved wheels, so that the build
needs no package index) and ``uv`` (the program that builds the image's virtualenv, as
it builds a server's).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from provision.containers.parts import IMAGE_FACTS, Image
from provision.release import artifact, wheels
from provision.release.artifact import ArtifactError

REQUIREMENTS = "requirements.lock"  # the resolved pins, in the image's release/
# provision writes it into the app's source: not the app's own content, nor the image's
CONTAINERFILE = "Containerfile"


@dataclass(frozen=True)
class Context:
    """A build context on disk, and how many pinned packages it holds as wheels."""

    path: Path
    pins: int


def prepare(image: Image, root: Path, work: Path) -> tuple[artifact.Source, wheels.Wheels]:
    """The app's source (a local folder, or a git URL checked out in ``work``) and its
    wheels, resolved for the image's Python and platform (cached as a deploy's are)."""
    source = artifact.checkout(image.source, image.ref, root, work)
    deps = artifact.dependencies(source.path, image.requirements)
    return source, wheels.resolve(deps, image.packages, IMAGE_FACTS)


def tag_of(image: Image, source: artifact.Source, found: wheels.Wheels) -> str:
    """What the image's content gives it as a tag: the same content, the same tag."""
    pins = "".join(f"{p}\n" for p in found.pins)
    made = {**image.files, REQUIREMENTS: pins, CONTAINERFILE: image.containerfile}
    return artifact.content_digest(source.path, made, leave_out=[CONTAINERFILE])


def write_context(image: Image, source: artifact.Source, found: wheels.Wheels, path: Path,
                  tag: str) -> Context:  # fmt: skip
    """The build context at ``path``, made afresh."""
    shutil.rmtree(path, ignore_errors=True)
    release = path / "release"
    for rel in artifact.files_of(source.path, leave_out=[CONTAINERFILE]):
        target = release / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.path / rel, target, follow_symlinks=False)
    pins = "".join(f"{p}\n" for p in found.pins)
    revision = f"{source.commit}-{tag}" if source.commit else tag
    for name, text in {**image.files, REQUIREMENTS: pins, "REVISION": f"{revision}\n"}.items():
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        (release / name).write_text(text)
    (path / "wheels").mkdir()
    for wheel in found.files:
        shutil.copy2(wheel, path / "wheels" / wheel.name)
    with zipfile.ZipFile(wheels.uv_wheel(IMAGE_FACTS)) as uv:
        (path / "uv").write_bytes(uv.read(wheels.UV_MEMBER))
    (path / "uv").chmod(0o755)
    (path / CONTAINERFILE).write_text(image.containerfile)
    return Context(path, len(found.pins))


def build_command(context: Path, name: str, base: str = "") -> list[str]:
    """buildah's command for the image ``name`` from ``context``. Docker's format, not
    OCI's: OCI's has no HEALTHCHECK, and Docker's runs on every OCI runtime.
    ``base``: another base image than the Containerfile's (``--build-arg BASE=``)."""
    args = ["buildah", "bud", "--format", "docker", "--layers", "-t", name]
    if base:
        args += ["--build-arg", f"BASE={base}"]
    return [*args, "-f", str(context / "Containerfile"), str(context)]


def build(context: Path, name: str, base: str = "") -> str:
    """Build the image with buildah; its id. buildah hands this process's http_proxy to the
    build's steps (apt), and the image does not keep it."""
    if shutil.which("buildah") is None:
        raise ArtifactError("buildah is not installed here (apt-get install -y buildah); "
                            "the context is written: build it with docker or podman")  # fmt: skip
    args = build_command(context, name, base)
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ArtifactError("buildah bud failed:\n  " + "\n  ".join(tail))
    return done.stdout.strip().splitlines()[-1]
