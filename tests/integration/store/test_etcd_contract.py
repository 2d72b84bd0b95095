"""The store contract suite (tests/unit/store/test_contract.py) against a real etcd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from podnet.store.etcd import EtcdStore
from tests.integration.store.conftest import EtcdProcess
from tests.unit.store import test_contract as contract

pytestmark = pytest.mark.integration


class TestEtcdContract(contract.StoreContract):
    @pytest.fixture
    async def store(self, etcd: EtcdProcess) -> AsyncIterator[EtcdStore]:
        backend = EtcdStore([etcd.endpoint])
        try:
            yield backend
        finally:
            await backend.close()

    @pytest.fixture
    def prefix(self) -> str:
        return contract.unique_prefix()
