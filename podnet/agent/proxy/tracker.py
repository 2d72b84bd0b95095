"""The nftables table's contents kept up to date service port by service port (pure).

A partial sync must cost what changed, not what exists: at 10,000 services, rebuilding the whole
``State`` and diffing it against the last one took ~200 ms of Python per endpoint change. Here each
service port's share of the table (its *fragment*: a small ``State``) is kept; an update recomputes
the fragments of the ports that changed (the model cache hands back the very same ``ServicePort``
objects for unchanged services), subtracts the old ones and adds the new ones, counting owners so
that elements several ports share (a cluster IP, a hairpin pair) leave only with their last owner.
The element changes come out as nft text. Two services claiming one (address, protocol, port) — a
conflict the API should not allow — makes the update ask for a full sync instead of guessing.

A change that needs a selection chain the table lacks (a new endpoint count or affinity timeout)
also needs a full sync: nft 1.0.6 cannot add a rule that DNATs through an existing ``typeof ... th
dport`` map in a later transaction ("conflicting protocols specified: ip vs. th", measured), only
in the transaction that declares the map. ``needs_full`` says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from podnet.agent.proxy import nftables
from podnet.agent.proxy.model import ServicePort
from podnet.agent.proxy.nftables import State

MISSING = object()


@dataclass
class Changes:
    """What one update did: per (collection, element key) the value before it (MISSING: absent)."""

    before: dict[tuple[str, Any], Any] = field(default_factory=dict)
    new_chains: set[str] = field(default_factory=set)
    old_fragments: list[State] = field(default_factory=list)
    new_fragments: list[State] = field(default_factory=list)
    conflict: bool = False

    @property
    def needs_full(self) -> bool:
        return self.conflict or bool(self.new_chains)


class StateTracker:
    """The whole table's ``State`` for one node, updated port by port."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.state = State()
        self.fragments: dict[str, tuple[ServicePort, State]] = {}
        self.owners: Counter[tuple[str, Any]] = Counter()

    def update(self, ports: list[ServicePort]) -> Changes:
        """Bring the state to ``ports``; what changed (``conflict`` set: rebuild from scratch instead)."""
        changes = Changes()
        collections = nftables.collections(self.state)
        wanted: dict[str, ServicePort] = {}
        for sp in ports:
            wanted.setdefault(f"{sp.key}/{sp.protocol}", sp)
        for key in [k for k in self.fragments if k not in wanted]:
            self._remove(key, collections, changes)
        for key, sp in wanted.items():
            held = self.fragments.get(key)
            if held is not None and (held[0] is sp or held[0] == sp):
                continue
            if held is not None:
                self._remove(key, collections, changes)
            fragment = State()
            nftables.add_service_port(fragment, sp, self.node)
            self.fragments[key] = (sp, fragment)
            changes.new_fragments.append(fragment)
            changes.new_chains |= fragment.chains - self.state.chains
            self.state.chains |= fragment.chains
            self._add(fragment, collections, changes)
        return changes

    def _add(self, fragment: State, collections: dict[str, Any], changes: Changes) -> None:
        for name, items in nftables.collections(fragment).items():
            target = collections[name]
            for k in items:
                ref = (name, k)
                self._remember(ref, target, changes)
                self.owners[ref] += 1
                if isinstance(items, dict):
                    if self.owners[ref] > 1 and target[k] != items[k]:
                        changes.conflict = True
                    target[k] = items[k]
                else:
                    target.add(k)

    def _remove(self, key: str, collections: dict[str, Any], changes: Changes) -> None:
        _sp, fragment = self.fragments.pop(key)
        changes.old_fragments.append(fragment)
        for name, items in nftables.collections(fragment).items():
            target = collections[name]
            for k in items:
                ref = (name, k)
                self._remember(ref, target, changes)
                self.owners[ref] -= 1
                if self.owners[ref] > 0:
                    changes.conflict |= isinstance(items, dict)  # who owns the value now is unclear
                    continue
                del self.owners[ref]
                if isinstance(target, dict):
                    del target[k]
                else:
                    target.discard(k)

    @staticmethod
    def _remember(ref: tuple[str, Any], target: Any, changes: Changes) -> None:
        if ref not in changes.before:
            k = ref[1]
            if isinstance(target, dict):
                changes.before[ref] = target.get(k, MISSING)
            else:
                changes.before[ref] = True if k in target else MISSING


def render_changes(tracker: StateTracker, changes: Changes, algorithm: str) -> str:
    """One nft transaction carrying exactly the element edits of ``changes`` (not ``needs_full``)."""
    assert not changes.new_chains, "a new selection chain needs a full sync (see the module docstring)"
    t = nftables.TABLE
    out: list[str] = []
    collections = nftables.collections(tracker.state)
    gone: dict[str, list[Any]] = {}
    added: dict[str, list[Any]] = {}
    for (name, k), before in changes.before.items():
        items = collections[name]
        after = items.get(k, MISSING) if isinstance(items, dict) else (True if k in items else MISSING)
        if before == after:
            continue
        if before is not MISSING:
            gone.setdefault(name, []).append(k)
        if after is not MISSING:
            added.setdefault(name, []).append(k)
    for name in collections:
        if name in gone:
            keys = ", ".join(nftables.fmt(k) for k in sorted(gone[name]))
            out.append(f"delete element ip {t} {name} {{ {keys} }}")
        if name in added:
            text = ", ".join(nftables.element(collections[name], k) for k in sorted(added[name]))
            out.append(f"add element ip {t} {name} {{ {text} }}")
    if any(name in ("aff-backends", "np-aff-backends") for name in (*gone, *added)):
        out.append(f"flush map ip {t} affinity")  # a remembered endpoint may be gone: forget them all
    return "\n".join(out) + "\n" if out else ""


def merged(fragments: list[State]) -> State:
    """Several fragments as one State (for the conntrack cleanup of the ports that changed)."""
    out = State()
    targets = nftables.collections(out)
    for fragment in fragments:
        for name, items in nftables.collections(fragment).items():
            target = targets[name]
            target.update(items)  # dict.update and set.update both take the fragment's own kind
    return out
