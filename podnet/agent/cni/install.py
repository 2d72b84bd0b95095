"""Install the ``podnet-cni`` executable where a runtime looks for plugins (its CNI bin dir).

The launcher is a four-line Python script, no shell in between, run with ``-I -S``: no site
import, no pyenv shim, no PYTHON* variables, so the interpreter starts in ~9 ms. ``sys.path`` gets
the project root, and, for the standalone fallback only, the interpreter's site-packages (where
pyroute2 lives), which ``-S`` would otherwise hide. The project's bytecode is compiled here,
because the environment sets PYTHONDONTWRITEBYTECODE and every start would otherwise recompile.
"""

from __future__ import annotations

import compileall
import os
import subprocess
from pathlib import Path

BINARY_NAME = "podnet-cni"


def launcher_text(python: str, project_root: str, site_packages: list[str]) -> str:
    # The kernel passes everything after the interpreter as ONE argument: "-IS", never "-I -S".
    return (
        f"#!{python} -IS\n"
        "import sys\n"
        f"sys.path[:0] = [{project_root!r}]\n"
        "from podnet.agent.cni.main import main\n"
        f"sys.exit(main({site_packages!r}, fast_exit=True))\n"
    )


def site_packages_of(python: str) -> list[str]:
    out = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [out.stdout.strip()]


# What the client and the standalone path import: compiling only these keeps a half-edited module
# elsewhere in the tree from failing the install.
COMPILED_FILES = ("podnet/__init__.py", "podnet/agent/__init__.py")
COMPILED_DIRS = ("podnet/agent/cni", "podnet/kernel")


def compile_project(project_root: str) -> None:
    """Write the .pyc files the launcher will load (``compileall`` ignores PYTHONDONTWRITEBYTECODE)."""
    ok = all(compileall.compile_file(os.path.join(project_root, f), quiet=1) for f in COMPILED_FILES)
    ok = all([ok, *(compileall.compile_dir(os.path.join(project_root, d), quiet=1) for d in COMPILED_DIRS)])
    if not ok:
        raise RuntimeError(f"could not compile podnet-cni's modules under {project_root}")


def install_cni_binary(dest_dir: str | Path, python: str, project_root: str | Path) -> Path:
    """Write ``<dest_dir>/podnet-cni`` (atomically, mode 0755) and compile the project; its path."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    root = str(Path(project_root).resolve())
    if len(python) + 5 > 250:
        raise ValueError(f"interpreter path too long for a #! line: {python}")
    compile_project(root)
    target = dest / BINARY_NAME
    tmp = dest / f".{BINARY_NAME}.tmp"
    tmp.write_text(launcher_text(python, root, site_packages_of(python)), encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, target)
    return target
