"""resolve_image: image + command + args → argv, as Kubernetes' ENTRYPOINT/CMD rules and podnet's recipes say.

No sockets or processes: the PATH lookup is a fake that knows /usr/bin/sh, /usr/bin/curl and /bin/sleep.
"""

from __future__ import annotations

import pytest

from podnet.images.registry import (
    AGNHOST_MAIN,
    WEBSERVER_MAIN,
    ImageError,
    ImageRef,
    agnhost_shim_script,
    parse_image,
    resolve_image,
)

PY = "/opt/py/bin/python3"
AGN = [PY, "-I", AGNHOST_MAIN]
HOST_TOOLS = {"sh": "/usr/bin/sh", "/bin/sh": "/bin/sh", "curl": "/usr/bin/curl", "sleep": "/bin/sleep"}


def fake_which(cmd: str) -> str | None:
    return HOST_TOOLS.get(cmd)


CASES = [
    # agnhost: ENTRYPOINT /agnhost, CMD pause
    ("registry.k8s.io/e2e-test-images/agnhost:2.53", None, None, [*AGN, "pause"]),
    ("agnhost", None, ["netexec", "--http-port=8080"], [*AGN, "netexec", "--http-port=8080"]),
    (
        "k8s.gcr.io/e2e-test-images/agnhost:2.39",
        ["/agnhost", "netexec"],
        ["--udp-port=-1"],
        [*AGN, "netexec", "--udp-port=-1"],
    ),
    ("agnhost:latest", ["agnhost", "serve-hostname"], None, [*AGN, "serve-hostname"]),
    ("agnhost", ["/agnhost"], None, AGN),
    ("agnhost", ["sh", "-c", "/agnhost pause"], None, ["/usr/bin/sh", "-c", "/agnhost pause"]),
    ("registry.k8s.io/e2e-test-images/agnhost@sha256:abc", [], [], [*AGN, "pause"]),
    # busybox / alpine: the host's tools
    ("busybox", None, None, ["/usr/bin/sh"]),
    ("busybox:1.36", ["sleep", "3600"], None, ["/bin/sleep", "3600"]),
    ("docker.io/library/busybox", None, ["sh", "-c", "echo hi"], ["/usr/bin/sh", "-c", "echo hi"]),
    ("busybox", ["busybox", "sh", "-c", "true"], None, ["/usr/bin/sh", "-c", "true"]),
    ("alpine:3.20", None, None, ["/bin/sh"]),
    ("alpine", ["curl"], ["-s", "http://10.96.0.1"], ["/usr/bin/curl", "-s", "http://10.96.0.1"]),
    # nginx / httpd: the built-in web server on port 80
    ("nginx", None, None, [PY, "-I", WEBSERVER_MAIN, "--port", "80", "--title", "nginx"]),
    (
        "docker.io/library/nginx:1.27-alpine",
        ["nginx", "-g", "daemon off;"],
        None,
        [PY, "-I", WEBSERVER_MAIN, "--port", "80", "--title", "nginx"],
    ),
    ("httpd:2.4", None, None, [PY, "-I", WEBSERVER_MAIN, "--port", "80", "--title", "httpd"]),
    ("nginx", ["sh", "-c", "sleep 1"], None, ["/usr/bin/sh", "-c", "sleep 1"]),
    # anything else with a command: that command
    ("example.com/team/tool:9", ["sleep"], ["10"], ["/bin/sleep", "10"]),
]


@pytest.mark.parametrize(("image", "command", "args", "want"), CASES)
def test_resolve_image(
    image: str, command: list[str] | None, args: list[str] | None, want: list[str]
) -> None:
    assert resolve_image(image, command, args, python=PY, which=fake_which) == want


def test_unknown_image_without_command_fails_like_an_image_pull() -> None:
    assert resolve_image("foo:1", None, ["--serve"], python=PY, which=fake_which) == ImageError(
        reason="ErrImagePull",
        message='failed to pull image "foo:1": podnet has no registry access; built-in images are '
        "agnhost, busybox, alpine, nginx, httpd, podnet — or give the container a command",
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["nosuchtool"], 'exec: "nosuchtool": executable file not found in $PATH'),
        (["/opt/missing/bin/app"], 'exec: "/opt/missing/bin/app": no such file or directory'),
    ],
)
def test_missing_executable_is_a_start_error(command: list[str], message: str) -> None:
    assert resolve_image("busybox", command, None, python=PY, which=fake_which) == ImageError(
        "StartError", message
    )


@pytest.mark.parametrize(
    ("image", "ref"),
    [
        ("agnhost", ImageRef("agnhost", "latest")),
        ("registry.k8s.io/e2e-test-images/agnhost:2.53", ImageRef("agnhost", "2.53")),
        ("localhost:5000/nginx", ImageRef("nginx", "latest")),
        ("localhost:5000/x/NGINX:1.2@sha256:00", ImageRef("nginx", "1.2")),
    ],
)
def test_parse_image(image: str, ref: ImageRef) -> None:
    assert parse_image(image) == ref


def test_shim_execs_the_module_with_quoted_paths() -> None:
    script = agnhost_shim_script("/opt/my python/bin/python3")
    assert script.splitlines() == [
        "#!/bin/sh",
        "# /agnhost of podnet's built-in agnhost image (podnet/images/agnhost)",
        f"exec '/opt/my python/bin/python3' -I {AGNHOST_MAIN} \"$@\"",
    ]


def test_podnet_image_runs_the_component_with_site_packages() -> None:
    assert resolve_image("podnet/podnet:latest", None, ["dns", "--listen", "0.0.0.0:53"], python="/py") == [
        "/py",
        "-m",
        "podnet",
        "dns",
        "--listen",
        "0.0.0.0:53",
    ]
    assert resolve_image("podnet", ["podnet", "dns"], None, python="/py") == ["/py", "-m", "podnet", "dns"]
