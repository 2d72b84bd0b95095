"""podnet-ipam: host-local style address allocation from one subnet, persisted one file per address."""
