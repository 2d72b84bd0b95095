import pytest

from podnet.agent.pods.container import exit_code, next_backoff, should_restart
from podnet.agent.pods.probes import ProbeTracker, resolve_port


@pytest.mark.parametrize(
    ("policy", "code", "init", "expected"),
    [
        ("Always", 0, False, True),
        ("Always", 1, False, True),
        ("OnFailure", 0, False, False),
        ("OnFailure", 2, False, True),
        ("Never", 1, False, False),
        ("Always", 0, True, False),  # a finished init container is done
        ("Always", 1, True, True),
        ("Never", 1, True, False),
    ],
)
def test_restart_policy(policy: str, code: int, init: bool, expected: bool) -> None:
    assert should_restart(policy, code, init) is expected


def test_crash_backoff_doubles_to_the_cap() -> None:
    seq, b = [], 0.0
    for _ in range(8):
        b = next_backoff(b, 10, 300)
        seq.append(b)
    assert seq == [10, 20, 40, 80, 160, 300, 300, 300]


def test_signal_exit_codes() -> None:
    assert exit_code(-9) == 137 and exit_code(-15) == 143 and exit_code(3) == 3


def test_probe_thresholds() -> None:
    t = ProbeTracker.of({"failureThreshold": 2, "successThreshold": 2}, initial=False)
    assert not t.observe(True) and not t.result
    assert t.observe(True) and t.result
    assert not t.observe(False) and t.result
    assert t.observe(False) and not t.result


def test_probe_port_by_name() -> None:
    c = {"ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port("http", c) == 8080 and resolve_port(81, c) == 81 and resolve_port("nope", c) is None
