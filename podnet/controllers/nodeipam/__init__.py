"""Node IPAM: one pod CIDR per node out of the cluster CIDR."""
