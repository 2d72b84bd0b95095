from podnet.agent.pods.envvars import container_env, expand, service_env, services_env


def svc(
    name: str, ns: str = "default", ip: str = "10.96.0.20", ports: list | None = None, **spec: object
) -> dict:
    ports = ports if ports is not None else [{"name": "http", "port": 80, "protocol": "TCP"}]
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports, **spec}}


def test_service_variables_match_kubelet_names() -> None:
    env = service_env(
        svc(
            "redis-master",
            ports=[{"port": 6379, "protocol": "TCP"}, {"name": "x", "port": 53, "protocol": "UDP"}],
        )
    )
    assert env["REDIS_MASTER_SERVICE_HOST"] == "10.96.0.20"
    assert env["REDIS_MASTER_SERVICE_PORT"] == "6379"
    assert env["REDIS_MASTER_SERVICE_PORT_X"] == "53"
    assert env["REDIS_MASTER_PORT"] == "tcp://10.96.0.20:6379"
    assert env["REDIS_MASTER_PORT_53_UDP"] == "udp://10.96.0.20:53"
    assert env["REDIS_MASTER_PORT_53_UDP_PROTO"] == "udp"
    assert env["REDIS_MASTER_PORT_6379_TCP_ADDR"] == "10.96.0.20"


def test_headless_and_external_name_services_give_nothing() -> None:
    assert service_env(svc("h", ip="None")) == {}
    assert service_env(svc("e", ip="", type="ExternalName")) == {}


def test_only_own_namespace_plus_master_service_and_links_switch() -> None:
    services = [svc("kubernetes", ip="10.96.0.1"), svc("web", "shop"), svc("other", "elsewhere")]
    pod = {"metadata": {"name": "p", "namespace": "shop"}, "spec": {}}
    env = services_env(pod, services)
    assert "WEB_SERVICE_HOST" in env and "KUBERNETES_SERVICE_HOST" in env and "OTHER_SERVICE_HOST" not in env
    pod["spec"]["enableServiceLinks"] = False
    env = services_env(pod, services)
    assert "WEB_SERVICE_HOST" not in env and env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_container_env_expands_references_and_field_refs() -> None:
    pod = {"metadata": {"name": "p", "namespace": "shop", "labels": {"app": "a"}}, "spec": {}}
    container = {
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$(NOPE)-$$(A)"},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        ]
    }
    env = container_env(pod, container, {"WEB_SERVICE_HOST": "1.2.3.4"}, "10.244.0.5", "172.18.0.3", "node-1")
    assert env["B"] == "x-$(NOPE)-$(A)"
    assert env["IP"] == "10.244.0.5" and env["APP"] == "a" and env["HOSTNAME"] == "p"
    assert env["WEB_SERVICE_HOST"] == "1.2.3.4"
    assert expand("$(A)", {}) == "$(A)"
