"""Pod sandboxes: the network namespace held for the pod's life, its /etc files and the pause process.

A sandbox is made the way a container runtime makes one: a named network namespace
(``pod_netns_name(lab, uid)``, pinned under /run/netns so ``ip netns`` and ``podnet exec`` find it),
the CNI plugin executed for it, then a pause process that holds the pod's mount and UTS namespaces
(its /etc/hosts and /etc/resolv.conf binds, its hostname) for the containers to join; the pause is
forked by the agent's sandbox zygote (``pause.PauseLauncher``), not exec'd as a fresh Python. What
was made is recorded in ``<pod dir>/sandbox.json`` first, so an agent restart finds and reuses it
(same IP) or tears it down completely.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podnet.agent.pods import cni
from podnet.agent.pods.pause import PauseError, PauseLauncher
from podnet.kernel import named_netns, proc
from podnet.kernel.spawn import on_exit

Obj = dict[str, Any]
PAUSE_ARGV = ("/bin/sleep", "infinity")  # holds namespaces, costs ~1 MB: the pause container's job


@dataclass
class ProcessRecord:
    pid: int
    ticks: int


@dataclass
class SandboxRecord:
    """What exists for one pod; written before each step's effect can outlive us."""

    uid: str
    namespace: str
    name: str
    netns: str | None  # None: hostNetwork
    pod_ips: list[str] = field(default_factory=list)
    pause: ProcessRecord | None = None
    cni_result: Obj = field(default_factory=dict)
    containers: dict[str, Obj] = field(default_factory=dict)  # name -> {pid, ticks, restarts, startedAt}

    @classmethod
    def from_json(cls, text: str) -> SandboxRecord:
        raw = json.loads(text)
        pause = raw.pop("pause", None)
        return cls(**raw, pause=ProcessRecord(**pause) if pause else None)


def join_argv(pause_pid: int, argv: list[str] | tuple[str, ...], workdir: str = "/") -> list[str]:
    """A process joining a pod: util-linux nsenter (~1 ms, where a Python entry costs ~10 ms)."""
    return ["nsenter", "-t", str(pause_pid), "-n", "-u", "-m", f"--wd={workdir}", "--", *argv]


class SandboxError(Exception):
    """Creating the sandbox failed; the message is what kubectl describe should show."""


@dataclass
class Sandboxes:
    """Makes and removes sandboxes for one node."""

    lab: str
    state_dir: Path
    cni_bin_dir: str
    cni_conf_dir: str
    node_ip: str
    # What a pod's service account mount holds: the API's CA and a bearer token (there is no RBAC
    # in podnet, so it is the agent's own credential; see the README's security note).
    service_account_token: str = ""
    ca_pem: bytes = b""
    pauses: PauseLauncher = field(default_factory=PauseLauncher)  # forks the pause processes

    def pod_dir(self, uid: str) -> Path:
        return self.state_dir / "pods" / uid

    def save(self, rec: SandboxRecord) -> None:
        d = self.pod_dir(rec.uid)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "sandbox.json.tmp"
        tmp.write_text(json.dumps(asdict(rec), indent=1))
        os.replace(tmp, d / "sandbox.json")

    def load_all(self) -> list[SandboxRecord]:
        out = []
        for path in sorted((self.state_dir / "pods").glob("*/sandbox.json")):
            try:
                out.append(SandboxRecord.from_json(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # a half-written record: its pod dir is cleaned when the pod is gone
        return out

    @staticmethod
    def write_file(path: Path, text: str) -> None:
        """Rewrite in place (same inode): the pause's bind mount of this file must see the change."""
        with open(path, "a+") as f:
            f.seek(0)
            f.truncate()
            f.write(text)

    async def create(
        self,
        rec: SandboxRecord,
        resolv: str,
        hosts: str,
        hostname: str,
        root_files: dict[str, str] | None = None,
    ) -> None:
        """netns → CNI ADD → files → pause; each step recorded. Raises SandboxError, leaving the record."""
        d = self.pod_dir(rec.uid)
        d.mkdir(parents=True, exist_ok=True)
        self.save(rec)
        if rec.netns is not None:
            if named_netns.netns_inode(rec.netns) is None:
                try:
                    await asyncio.to_thread(named_netns.create_netns, rec.netns)
                except OSError as exc:
                    raise SandboxError(f"failed to create the network namespace {rec.netns}: {exc}") from None
            if not rec.pod_ips:
                try:
                    network = cni.load_network(self.cni_conf_dir)
                    result = await cni.cni_call(
                        "ADD",
                        network,
                        self.cni_bin_dir,
                        rec.uid.replace("-", ""),
                        f"/run/netns/{rec.netns}",
                        args=f"K8S_POD_NAMESPACE={rec.namespace};K8S_POD_NAME={rec.name};K8S_POD_UID={rec.uid}",
                    )
                except cni.CniError as exc:
                    raise SandboxError(
                        f'failed to set up sandbox network for pod "{rec.name}": plugin podnet: {exc}'
                    ) from None
                rec.cni_result, rec.pod_ips = result, cni.result_ips(result)
                self.save(rec)
        else:
            rec.pod_ips = [self.node_ip]
        self.write_file(d / "resolv.conf", resolv)
        self.write_file(d / "hosts", hosts)
        if self.service_account_token:
            account = d / "run" / "secrets" / "kubernetes.io" / "serviceaccount"  # becomes the pod's /run
            account.mkdir(mode=0o755, parents=True, exist_ok=True)
            (account / "token").write_text(self.service_account_token)
            (account / "ca.crt").write_bytes(self.ca_pem)
            (account / "namespace").write_text(rec.namespace)
        if rec.pause is None or not proc.same_process(rec.pause.pid, rec.pause.ticks):
            # /proc/self in the forked holder is the holder itself: the node's namespace (hostNetwork)
            net = f"/run/netns/{rec.netns}" if rec.netns else "/proc/self/ns/net"
            try:
                pid = await self.pauses.start(
                    net, str(d), hostname, PAUSE_ARGV, str(d / "pause.log"), root_files=root_files
                )
            except PauseError as exc:
                raise SandboxError(f"failed to start the pod's pause process: {exc}") from None
            ticks = proc.start_ticks(pid)  # it has exec'd: the zygote answers only then
            if ticks is None:
                log = (d / "pause.log").read_text(errors="replace")[-300:]
                raise SandboxError(f"pause process exited at once: {log}")
            rec.pause = ProcessRecord(pid, ticks)
            self.save(rec)

    async def destroy(self, rec: SandboxRecord) -> None:
        """pause stopped → CNI DEL → netns removed → pod dir removed; idempotent."""
        if rec.pause is not None:
            try:
                exited = on_exit(rec.pause.pid)  # opened before the kill: the PID cannot be reused first
            except ProcessLookupError:
                exited = None
            try:
                if proc.signal_if_same(rec.pause.pid, rec.pause.ticks, 9) and exited is not None:
                    await asyncio.wait_for(asyncio.shield(exited), 5.0)
            finally:
                if exited is not None:
                    exited.cancel()
        if rec.netns is not None:
            try:
                network = cni.load_network(self.cni_conf_dir)
                await cni.cni_call(
                    "DEL",
                    network,
                    self.cni_bin_dir,
                    rec.uid.replace("-", ""),
                    f"/run/netns/{rec.netns}",
                    prev_result=rec.cni_result or None,
                )
            except cni.CniError:
                pass  # the IPAM GC frees what DEL could not; the namespace goes below regardless
            await asyncio.to_thread(named_netns.delete_netns, rec.netns)
        shutil.rmtree(self.pod_dir(rec.uid), ignore_errors=True)
