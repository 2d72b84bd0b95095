"""Node lifecycle: nodes whose kubelet stopped renewing its Lease become Unknown; their pods leave."""
