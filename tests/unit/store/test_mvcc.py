"""The pure parts of the revision log: prefix bounds, events from records, rollback to a revision."""

from __future__ import annotations

from podnet.store import Event, EventType, KeyValue
from podnet.store.mvcc import LogRecord, prefix_end, record_event, rollback


def test_prefix_end_bounds_every_key_under_the_prefix() -> None:
    assert prefix_end("/registry/pods/") == "/registry/pods0"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\ud7ff") == "\ue000"
    assert prefix_end("") is None
    assert prefix_end("\U0010ffff") is None


def test_record_events() -> None:
    create = LogRecord(3, "/k", 3, 0, b"1", None)
    update = LogRecord(5, "/k", 3, 3, b"2", b"1")
    delete = LogRecord(6, "/k", 3, 5, None, b"2")
    assert record_event(create) == Event(EventType.PUT, KeyValue("/k", b"1", 3, 3), None, 3)
    assert record_event(update) == Event(
        EventType.PUT, KeyValue("/k", b"2", 3, 5), KeyValue("/k", b"1", 3, 3), 5
    )
    assert record_event(delete) == Event(
        EventType.DELETE, KeyValue("/k", b"2", 3, 6), KeyValue("/k", b"2", 3, 5), 6
    )


def test_rollback_restores_changed_keys_and_keeps_page_order() -> None:
    current = [KeyValue("a", b"a2", 1, 9), KeyValue("c", b"c", 8, 8), KeyValue("d", b"d", 2, 2)]
    changed = {
        "a": LogRecord(9, "a", 1, 1, b"a2", b"a1"),  # updated after the snapshot
        "b": LogRecord(7, "b", 3, 3, None, b"b1"),  # deleted after it
        "c": LogRecord(8, "c", 8, 0, b"c", None),  # created after it
    }
    items, more = rollback(current, False, changed, 0)
    assert items == [KeyValue("a", b"a1", 1, 1), KeyValue("b", b"b1", 3, 3), KeyValue("d", b"d", 2, 2)]
    assert not more
    assert rollback(current, False, changed, 2) == (items[:2], True)


def test_rollback_drops_restored_keys_beyond_a_truncated_page() -> None:
    current = [KeyValue("a", b"a", 1, 1), KeyValue("b", b"b", 2, 2)]
    changed = {"z": LogRecord(9, "z", 4, 4, None, b"z")}
    assert rollback(current, True, changed, 1) == ([current[0]], True)
