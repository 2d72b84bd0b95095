"""Image names to argv: which built-in recipe a container's image selects, and what to exec for it.

podnet has no registry and no image filesystem: a container runs as a host process inside its pod's
namespaces. So an image name only picks a recipe, and ``resolve_image`` turns (image, command, args) into
the argv, following Kubernetes' rule that ``command`` replaces the image's ENTRYPOINT and ``args`` its CMD
(and that giving ``command`` alone drops the image's CMD). The image defaults are the real images':

- agnhost: ENTRYPOINT ``/agnhost``, CMD ``pause``; ``/agnhost`` (or ``agnhost``) in argv[0] becomes this
  package's agnhost;
- busybox: CMD ``sh``; alpine: CMD ``/bin/sh``; both run the host's tools, found on the container PATH;
- nginx, httpd: the built-in static web server on port 80 (their own entrypoints map to it too);
- podnet: podnet's own components as pods (``podnet dns``), ENTRYPOINT ``podnet``;
- anything else: its explicit ``command`` runs as given, and without one the pod gets ``ErrImagePull``.

Built-in programs run as ``python -I <file>``: isolated from the pod's PYTHON* environment, stdlib only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

IMAGES_DIR = os.path.dirname(os.path.abspath(__file__))
AGNHOST_MAIN = os.path.join(IMAGES_DIR, "agnhost", "__main__.py")
WEBSERVER_MAIN = os.path.join(IMAGES_DIR, "webserver.py")

# The PATH container images set (Docker's default); commands are looked up on it, not on the agent's.
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

BUILT_IN = ("agnhost", "busybox", "alpine", "nginx", "httpd", "podnet")
AGNHOST_NAMES = ("/agnhost", "agnhost")
WEB_ENTRYPOINTS = ("nginx", "httpd", "httpd-foreground", "docker-entrypoint.sh", "/docker-entrypoint.sh")
SHELL_IMAGES = {"busybox": "sh", "alpine": "/bin/sh"}


@dataclass(frozen=True)
class ImageError:
    """Why a container cannot start; ``reason`` is the Kubernetes waiting/terminated reason."""

    reason: str
    message: str


@dataclass(frozen=True)
class ImageRef:
    """An image reference reduced to what selects a recipe: the last path component and the tag."""

    name: str
    tag: str


Which = Callable[[str], "str | None"]


def container_which(cmd: str) -> str | None:
    return shutil.which(cmd, path=CONTAINER_PATH)


def parse_image(image: str) -> ImageRef:
    """``registry.k8s.io/e2e-test-images/agnhost:2.53@sha256:…`` → ImageRef("agnhost", "2.53")."""
    ref = image.strip().split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    return ImageRef(name=name.lower(), tag=tag or "latest")


def agnhost_argv(args: list[str], python: str = sys.executable) -> list[str]:
    return [python, "-I", AGNHOST_MAIN, *args]


def webserver_argv(title: str, python: str = sys.executable, port: int = 80) -> list[str]:
    return [python, "-I", WEBSERVER_MAIN, "--port", str(port), "--title", title]


def resolve_image(
    image: str,
    command: list[str] | None,
    args: list[str] | None,
    *,
    python: str = sys.executable,
    which: Which = container_which,
) -> list[str] | ImageError:
    """The argv to exec for a container, or why it cannot run (ErrImagePull, StartError)."""
    ref = parse_image(image)
    command, args = list(command or []), list(args or [])
    if ref.name == "agnhost":
        argv = command + args if command else ["/agnhost", *(args or ["pause"])]
        return _exec(argv, python, which)
    if ref.name in ("nginx", "httpd"):
        if not command or os.path.basename(command[0]) in WEB_ENTRYPOINTS or command[0] in WEB_ENTRYPOINTS:
            return webserver_argv(ref.name, python)
        return _exec(command + args, python, which)
    if ref.name == "podnet":
        # Not isolated (-I): the components need the project's dependencies from site-packages.
        rest = command[1:] + args if command and os.path.basename(command[0]) == "podnet" else command + args
        if command and os.path.basename(command[0]) != "podnet":
            return _exec(command + args, python, which)
        return [python, "-m", "podnet", *rest]
    if ref.name in SHELL_IMAGES:
        argv = command + args if command else (args or [SHELL_IMAGES[ref.name]])
        return _exec(_strip_busybox(argv, which), python, which)
    if command:
        return _exec(command + args, python, which)
    return ImageError(
        reason="ErrImagePull",
        message=(
            f'failed to pull image "{image}": podnet has no registry access; built-in images are '
            f"{', '.join(BUILT_IN)} — or give the container a command"
        ),
    )


def _strip_busybox(argv: list[str], which: Which) -> list[str]:
    """``busybox sh -c …`` runs the applet itself when the host has no busybox binary."""
    if len(argv) > 1 and os.path.basename(argv[0]) == "busybox" and which(argv[0]) is None:
        return argv[1:]
    return argv


def _exec(argv: list[str], python: str, which: Which) -> list[str] | ImageError:
    """Resolve argv[0]: agnhost to the built-in program, anything else on the container PATH."""
    if argv[0] in AGNHOST_NAMES:
        return agnhost_argv(argv[1:], python)
    path = which(argv[0])
    if path is None:
        where = "" if "/" in argv[0] else " in $PATH"
        problem = "no such file or directory" if "/" in argv[0] else "executable file not found"
        return ImageError(reason="StartError", message=f'exec: "{argv[0]}": {problem}{where}')
    return [path, *argv[1:]]


def agnhost_shim_script(python: str = sys.executable) -> str:
    """An ``sh`` script for ``/agnhost`` inside a pod, so ``/agnhost connect …`` works as in the image.

    A pod with an agnhost container gets it at ``/agnhost`` in its own root, an overlay of the node's
    (``enter.new_sandbox`` with root files: the node's ``/`` is never written), so ``podnet exec POD -- /agnhost …``
    and ``sh -c "/agnhost …"`` commands reach the built-in agnhost. It execs, so signals and the exit
    code pass straight through.
    """
    return (
        "#!/bin/sh\n"
        "# /agnhost of podnet's built-in agnhost image (podnet/images/agnhost)\n"
        f'exec {shlex.quote(python)} -I {shlex.quote(AGNHOST_MAIN)} "$@"\n'
    )
