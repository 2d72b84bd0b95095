"""Cluster DNS: the Kubernetes DNS-based service discovery specification, served from pods."""
