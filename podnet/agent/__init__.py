"""The per-node agent: pods, the CNI plugin, routing, the service proxy and policy."""
