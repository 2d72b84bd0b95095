"""Pods on this node: sandboxes (netns + pause), containers as processes, probes and status."""
