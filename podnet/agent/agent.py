"""The node agent: kubelet's networking half plus kube-proxy, one process inside its node.

Start order follows what depends on what: register the Node (NotReady) and heartbeat its Lease;
wait for the podCIDR; install the CNI plugin and its config and start the resident CNI server;
declare the node Ready; then run the loops — pods, routing between nodes, the service proxy and
NetworkPolicy — each observing the API and programming this node's kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import podnet
from podnet.agent import kubelet_api, node
from podnet.agent.cni.install import install_cni_binary
from podnet.agent.cni.server import CniServer
from podnet.agent.health import Health
from podnet.agent.pods import files
from podnet.agent.pods.manager import PodManager
from podnet.agent.pods.sandbox import Sandboxes
from podnet.agent.pods.worker import RuntimeConfig
from podnet.agent.policy import run_policy
from podnet.agent.proxy import ProxyConfig, run_proxy
from podnet.agent.proxy.announce import run_announcer
from podnet.agent.routing import RoutingConfig, overlay_overhead, run_routing
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(podnet.__file__).resolve().parents[1]
CNI_CONF_NAME = "10-podnet.conflist"


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    node_ip: str
    state_dir: Path
    lab: str = "podnet"
    backend: str = "host-gw"
    proxy_mode: str = "nftables"
    lb_algorithm: str = "random"
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    cluster_dns: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    uplink: str = "eth0"
    restart_backoff: float = 10.0
    components: frozenset[str] = frozenset({"pods", "routing", "proxy", "policy"})
    service_account_token: str = ""
    ca_pem: bytes = b""

    @property
    def cni_bin_dir(self) -> Path:
        return self.state_dir / "cni" / "bin"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state_dir / "cni" / "net.d"

    @property
    def cni_socket(self) -> Path:
        return self.state_dir / "cni.sock"


def cni_network_config(cfg: AgentConfig, pod_cidr: str) -> dict[str, object]:
    """The node's CNI network config (pure): a conflist of podnet-cni on the node's podCIDR."""
    net = ipaddress.ip_network(pod_cidr)
    return {
        "cniVersion": "1.1.0",
        "name": "podnet",
        "plugins": [
            {
                "type": "podnet-cni",
                "bridge": "cbr0",
                "uplinkInterface": cfg.uplink,
                "backendOverhead": overlay_overhead(cfg.backend),
                "isGateway": True,
                "hairpinMode": True,
                "agentSocket": str(cfg.cni_socket),
                "ipam": {
                    "type": "podnet-ipam",
                    "subnet": str(net),
                    "gateway": str(net.network_address + 1),
                    "dataDir": str(cfg.state_dir / "ipam"),
                },
            }
        ],
    }


def write_cni_config(cfg: AgentConfig, pod_cidr: str) -> None:
    cfg.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.cni_conf_dir / (CNI_CONF_NAME + ".tmp")
    tmp.write_text(json.dumps(cni_network_config(cfg, pod_cidr), indent=2) + "\n")
    tmp.replace(cfg.cni_conf_dir / CNI_CONF_NAME)


def _host_dns() -> files.DnsSettings:
    try:
        servers, search = files.parse_resolv_conf(Path("/etc/resolv.conf").read_text())
    except OSError:
        servers, search = (), ()
    return files.DnsSettings(host_nameservers=servers, host_search=search)


async def run_agent(client: ApiClient, cfg: AgentConfig, stop: asyncio.Event) -> None:
    await node.register(client, cfg.node_name, cfg.node_ip)
    log.info("node %s registered (%s)", cfg.node_name, cfg.node_ip)
    tasks = [asyncio.create_task(node.heartbeat(client, cfg.node_name, stop), name="lease")]
    cni_server: CniServer | None = None
    factory = InformerFactory(client)
    try:
        pod_cidr = await node.wait_pod_cidr(client, cfg.node_name, stop)
        if pod_cidr is None:
            return
        log.info("podCIDR %s", pod_cidr)
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(install_cni_binary, cfg.cni_bin_dir, sys.executable, PROJECT_ROOT)
        cni_server = CniServer(str(cfg.cni_socket))
        cni_server.start()
        write_cni_config(cfg, pod_cidr)
        health = Health()
        for name, start in _components(client, cfg, factory, health).items():
            if name in cfg.components:
                tasks.append(asyncio.create_task(supervise(name, start, stop, health), name=name))
        factory.start()
        await node.set_ready(client, cfg.node_name, True)
        log.info("node %s is Ready", cfg.node_name)
        await stop.wait()
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        await factory.stop()
        if cni_server is not None:
            cni_server.shutdown()
            cni_server.close()


async def supervise(
    name: str,
    start: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    health: Health | None = None,
) -> None:
    """Run one component; if it fails, log why and start it again (with back-off) instead of taking
    the whole node down with it, as kubelet's and kube-proxy's loops keep going."""
    health = health or Health()
    delay = 1.0
    for _ in range(10**9):  # until the agent stops
        try:
            health.running(name)
            await start(stop)
            if stop.is_set():
                health.stopped(name)
                return
            log.warning("%s ended on its own; starting it again", name)
            health.failed(name, "ended on its own")
        except asyncio.CancelledError:
            health.stopped(name)
            raise
        except Exception as exc:
            log.exception("%s failed; starting it again in %.0fs", name, delay)
            health.failed(name, repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return
        except TimeoutError:
            delay = min(delay * 2, 30.0)


def _components(
    client: ApiClient, cfg: AgentConfig, factory: InformerFactory, health: Health | None = None
) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
    runtime = RuntimeConfig(
        node_name=cfg.node_name,
        node_ip=cfg.node_ip,
        dns=_with_cluster(_host_dns(), cfg),
        restart_backoff=cfg.restart_backoff,
    )
    sandboxes = Sandboxes(
        cfg.lab,
        cfg.state_dir,
        str(cfg.cni_bin_dir),
        str(cfg.cni_conf_dir),
        cfg.node_ip,
        cfg.service_account_token,
        cfg.ca_pem,
    )
    manager = PodManager(client, runtime, sandboxes, factory)

    async def pods(stop: asyncio.Event) -> None:
        runner = await kubelet_api.serve(manager, cfg.node_ip, health=health)
        try:
            await manager.run(stop)
        finally:
            await runner.cleanup()
            await sandboxes.pauses.close()

    routing_config = RoutingConfig(
        node_name=cfg.node_name,
        backend=cfg.backend,
        uplink=cfg.uplink,
        cluster_cidr=cfg.cluster_cidr,
        service_cidr=cfg.service_cidr,
    )

    async def routing(stop: asyncio.Event) -> None:
        await run_routing(client, routing_config, stop, factory)

    proxy_config = ProxyConfig(
        node_name=cfg.node_name,
        mode=cfg.proxy_mode,
        cluster_cidr=cfg.cluster_cidr,  # type: ignore[arg-type]
        lb_algorithm=cfg.lb_algorithm,  # type: ignore[arg-type]
        service_cidr=cfg.service_cidr,
    )

    async def proxy(stop: asyncio.Event) -> None:
        await asyncio.gather(
            run_proxy(client, proxy_config, stop, factory),
            run_announcer(client, cfg.node_name, cfg.uplink, stop, factory),
        )

    async def policy(stop: asyncio.Event) -> None:
        await run_policy(client, cfg.node_name, stop, factory=factory)

    return {"pods": pods, "routing": routing, "proxy": proxy, "policy": policy}


def _with_cluster(host: files.DnsSettings, cfg: AgentConfig) -> files.DnsSettings:
    return files.DnsSettings(
        cluster_dns=(cfg.cluster_dns,) if cfg.cluster_dns else (),
        cluster_domain=cfg.cluster_domain,
        host_nameservers=host.host_nameservers,
        host_search=host.host_search,
    )
