"""The samples of docs/containers.md: the container road for the example app, from the
repository's inventory. The image is built on Debian 12's root filesystem (the
sandbox's, committed as an image), since no registry need be reached; a person's build
takes debian:bookworm-slim from Docker Hub."""

from __future__ import annotations

import os

from sample_kit import ROOT, Run, provision

from provision.sandbox import images, machines

BASE = "localhost/debian:bookworm-sandbox"


def show(run: Run, name: str, path: str) -> None:
    run.add(name, f"cat {path}", (ROOT / path).read_text())


def containers(run: Run) -> None:
    os.environ["BUILDAH_ISOLATION"] = "chroot"  # crun cannot run here: cgroups in hybrid mode
    before = images.image_ids()
    try:
        images.base_image(machines.base_rootfs(), BASE)
        run.add("image", f"provision image --base {BASE}", provision("image", "--base", BASE))
    finally:  # every image this made, the build's cached layers too, by id
        images.remove_images(images.image_ids() - before)
    run.add("image-no-build", "provision image --no-build", provision("image", "--no-build"))
    show(run, "containerfile", "example-app/Containerfile")
    run.add("compose", "provision compose", provision("compose"))
    show(run, "compose-file", "containers/hello/compose.yaml")
    token = "app_env={API_TOKEN: {env: API_TOKEN}}"
    os.environ["API_TOKEN"] = "demo-token-not-a-real-one"
    said = f"API_TOKEN=demo-token-not-a-real-one provision COMMAND --set '{token}'"
    run.add(
        "compose-env",
        said.replace("COMMAND", "compose --env"),
        provision("compose", "--env", "--set", token),
    )
    run.add("kube", "provision kube", provision("kube"))
    show(run, "kube-deployment", "containers/hello/kube/deployment-hello.yaml")
    show(run, "kube-ingress", "containers/hello/kube/ingress-hello.yaml")
    run.add(
        "kube-secret",
        said.replace("COMMAND", "kube --secret"),
        provision("kube", "--secret", "--set", token),
    )
