"""The agent's pods in a real lab: sandboxes, addresses, containers, probes, restarts, deletion."""

from __future__ import annotations

import ipaddress
import os

import pytest

from tests.e2e.lab.conftest import Lab, netexec, pod_manifest
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def node(lab: Lab, name: str) -> dict:
    return lab.kubectl.json("get", "node", name)


def test_pod_gets_an_ip_of_its_node_podcidr_and_full_status(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("status-a", netexec()))
    pod = lab.wait_ready("status-a")
    st = pod["status"]
    n1 = node(lab, "node-1")
    assert ipaddress.ip_address(st["podIP"]) in ipaddress.ip_network(n1["spec"]["podCIDR"])
    assert st["podIPs"] == [{"ip": st["podIP"]}]
    assert st["hostIP"] == "172.18.0.3" and st["phase"] == "Running"
    cs = st["containerStatuses"][0]
    assert cs["ready"] is True and cs["restartCount"] == 0 and "running" in cs["state"]
    types = {c["type"]: c["status"] for c in st["conditions"]}
    assert types == {
        "PodScheduled": "True",
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
    }
    # the pod sees its own address on eth0, inside its own UTS namespace
    assert st["podIP"] in lab.exec("status-a", "ip", "-4", "-o", "addr", "show", "eth0")
    assert lab.exec("status-a", "hostname").strip() == "status-a"


def test_pod_to_pod_on_one_node_is_not_natted(lab: Lab) -> None:
    lab.kubectl.apply([pod_manifest("nat-a", netexec()), pod_manifest("nat-b", netexec())])
    a, b = lab.wait_ready("nat-a"), lab.wait_ready("nat-b")
    seen = lab.exec("nat-a", "curl", "-s", "--max-time", "3", f"http://{b['status']['podIP']}:8080/clientip")
    assert seen.split(":")[0] == a["status"]["podIP"]


def test_containers_of_a_pod_share_localhost(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("duo", netexec("one", 8080), netexec("two", 8090)))
    lab.wait_ready("duo")
    assert (
        lab.exec("duo", "curl", "-s", "--max-time", "3", "http://localhost:8080/hostname", container="two")
        == "duo"
    )
    # no readiness probe: Ready as soon as the processes run, so wait for the second server to listen
    wait_until(
        lambda: lab.exec_rc("duo", "/agnhost", "connect", "127.0.0.1:8090", "--timeout=1s") == 0, timeout=10
    )


def test_agnhost_is_at_the_pods_root_for_shell_commands_and_the_node_is_untouched(lab: Lab) -> None:
    shell = {"name": "web", "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
             "command": ["sh", "-c", "echo started > /started-by-shell; exec /agnhost netexec --http-port=8080"]}  # fmt: skip
    lab.kubectl.apply(pod_manifest("sh-agnhost", shell))
    pod = lab.wait_ready("sh-agnhost")
    ip = pod["status"]["podIP"]
    wait_until(
        lambda: lab.exec_rc("sh-agnhost", "/agnhost", "connect", f"{ip}:8080", "--timeout=1s") == 0, 10
    )
    assert (
        lab.exec("sh-agnhost", "sh", "-c", f"curl -s --max-time 3 http://{ip}:8080/hostname") == "sh-agnhost"
    )
    assert lab.exec("sh-agnhost", "cat", "/started-by-shell").strip() == "started"  # the pod's own root
    assert not os.path.exists("/agnhost") and not os.path.exists("/started-by-shell")  # not the node's


def test_restarted_container_keeps_the_pod_ip(lab: Lab) -> None:
    crash = {"name": "crash", "image": "busybox", "command": ["sh", "-c", "sleep 0.5; exit 3"]}
    lab.kubectl.apply(pod_manifest("crashy", crash))

    def restarted() -> dict | None:
        pod = lab.pod("crashy")
        statuses = pod["status"].get("containerStatuses") or [{}]
        return pod if statuses[0].get("restartCount", 0) >= 2 else None

    first_ip = wait_until(lambda: lab.pod("crashy")["status"].get("podIP"), timeout=10)
    pod = wait_until(restarted, timeout=30, interval=0.2, what="two restarts")
    cs = pod["status"]["containerStatuses"][0]
    assert pod["status"]["podIP"] == first_ip
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "Error"


def test_never_restart_policy_ends_the_pod(lab: Lab) -> None:
    job = {"name": "once", "image": "busybox", "command": ["sh", "-c", "exit 0"]}
    bad = {"name": "bad", "image": "busybox", "command": ["sh", "-c", "exit 5"]}
    lab.kubectl.apply(
        [
            pod_manifest("ok-once", job, restartPolicy="Never"),
            pod_manifest("bad-once", bad, restartPolicy="Never"),
        ]
    )
    wait_until(lambda: lab.pod("ok-once")["status"].get("phase") == "Succeeded", timeout=15)
    pod = wait_until(lambda: (p := lab.pod("bad-once"))["status"].get("phase") == "Failed" and p, timeout=15)
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 5


def test_readiness_probe_drives_ready_and_liveness_restarts(lab: Lab) -> None:
    not_ready = netexec(readinessProbe={"httpGet": {"path": "/healthz", "port": 9999}, "periodSeconds": 1})
    ready = netexec(
        readinessProbe={"tcpSocket": {"port": "http"}, "periodSeconds": 1},
        ports=[{"name": "http", "containerPort": 8080}],
    )
    live = netexec(
        livenessProbe={
            "exec": {"command": ["cat", "/nonexistent"]},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
    )
    lab.kubectl.apply(
        [
            pod_manifest("probe-no", not_ready),
            pod_manifest("probe-yes", ready),
            pod_manifest("probe-live", live),
        ]
    )
    lab.wait_ready("probe-yes")
    pod = lab.pod("probe-no")
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["ready"] is False
    events = lab.kubectl("get", "events", "--field-selector", "involvedObject.name=probe-no")
    assert "Started container web" in events and "Successfully assigned default/probe-no to node-1" in events
    wait_until(lambda: "Readiness probe failed" in lab.kubectl("describe", "pod", "probe-no"), timeout=10)
    wait_until(
        lambda: lab.pod("probe-live")["status"]["containerStatuses"][0]["restartCount"] >= 1,
        timeout=30,
        interval=0.3,
        what="liveness restart",
    )


def test_service_environment_variables(lab: Lab) -> None:
    lab.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "env-svc"},
            "spec": {"selector": {"app": "none"}, "ports": [{"name": "web", "port": 80, "targetPort": 8080}]},
        }
    )
    ip = lab.kubectl.json("get", "svc", "env-svc")["spec"]["clusterIP"]
    lab.kubectl.apply(pod_manifest("envs", netexec()))
    lab.wait_ready("envs")
    env = dict(line.split("=", 1) for line in lab.exec("envs", "env").splitlines() if "=" in line)
    assert env["ENV_SVC_SERVICE_HOST"] == ip and env["ENV_SVC_SERVICE_PORT"] == "80"
    assert env["ENV_SVC_SERVICE_PORT_WEB"] == "80" and env["ENV_SVC_PORT_80_TCP"] == f"tcp://{ip}:80"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_host_network_pod_runs_in_the_node_namespace(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("hostnet", netexec(port=18080), hostNetwork=True))
    pod = lab.wait_ready("hostnet")
    assert pod["status"]["podIP"] == "172.18.0.3"
    assert "172.18.0.3" in lab.exec("hostnet", "ip", "-4", "-o", "addr", "show", "eth0")
    assert (
        lab.host("node-1", "curl", "-s", "--max-time", "3", "http://172.18.0.3:18080/hostname") == "hostnet"
    )


def test_dns_policies_write_resolv_conf(lab: Lab) -> None:
    none = pod_manifest(
        "dns-none", netexec(), dnsPolicy="None", dnsConfig={"nameservers": ["1.2.3.4"], "searches": ["x.y"]}
    )
    lab.kubectl.apply([pod_manifest("dns-cf", netexec()), none])
    lab.wait_ready("dns-cf")
    lab.wait_ready("dns-none")
    cf = lab.exec("dns-cf", "cat", "/etc/resolv.conf")
    assert (
        "nameserver 10.96.0.10" in cf
        and "search default.svc.cluster.local svc.cluster.local cluster.local" in cf
    )
    assert "options ndots:5" in cf
    assert lab.exec("dns-none", "cat", "/etc/resolv.conf") == "nameserver 1.2.3.4\nsearch x.y\n"


def test_unknown_image_without_command_is_err_image_pull(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("noimage", {"name": "c", "image": "example.com/private/app:1"}))

    def waiting_reason() -> str:
        cs = lab.pod("noimage")["status"].get("containerStatuses") or [{}]
        return ((cs[0].get("state") or {}).get("waiting") or {}).get("reason", "")

    assert wait_until(lambda: waiting_reason() == "ErrImagePull", timeout=15)


def test_graceful_deletion_sigterm_then_sigkill(lab: Lab) -> None:
    polite = {
        "name": "c",
        "image": "busybox",
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"],
    }
    stubborn = {
        "name": "c",
        "image": "busybox",
        "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
    }
    lab.kubectl.apply(
        [
            pod_manifest("polite", polite, terminationGracePeriodSeconds=30),
            pod_manifest("stubborn", stubborn, terminationGracePeriodSeconds=2),
        ]
    )
    lab.wait_ready("polite")
    lab.wait_ready("stubborn")
    # `kubectl delete` waits until the agent has stopped everything and removed the object
    lab.kubectl("delete", "pod", "polite", "stubborn", "--timeout=20s")
    out = lab.kubectl("get", "pods", "polite", "stubborn", "--ignore-not-found")
    assert out.strip() == ""


def test_service_account_is_mounted_where_in_cluster_clients_look(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("sa", netexec()))
    lab.wait_ready("sa")
    base = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert lab.exec("sa", "cat", f"{base}/namespace") == "default"
    assert lab.exec("sa", "cat", f"{base}/ca.crt").startswith("-----BEGIN CERTIFICATE-----")
    assert len(lab.exec("sa", "cat", f"{base}/token")) > 20


def test_kubectl_logs_current_previous_and_tail(lab: Lab) -> None:
    chatty = {
        "name": "c",
        "image": "busybox",
        "command": ["sh", "-c", "echo run; echo a; echo b; sleep 0.5; exit 1"],
    }
    lab.kubectl.apply(pod_manifest("chatty", chatty))
    wait_until(
        lambda: lab.pod("chatty")["status"]["containerStatuses"][0]["restartCount"] >= 1,
        timeout=20,
        interval=0.2,
    )
    assert lab.kubectl("logs", "chatty", "--previous") == "run\na\nb\n"
    assert lab.kubectl("logs", "chatty", "--previous", "--tail=1") == "b\n"
    lab.kubectl.apply(pod_manifest("twoc", netexec("one", 8080), netexec("two", 8090)))
    lab.wait_ready("twoc")
    out = lab.kubectl.run("logs", "twoc", "-c", "nope", check=False)
    assert out.returncode != 0 and "container nope is not valid for pod twoc" in out.stderr
    wait_until(
        lambda: "Started HTTP server on port 8090" in lab.kubectl("logs", "twoc", "-c", "two"), timeout=10
    )
