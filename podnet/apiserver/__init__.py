"""The Kubernetes REST API over the store: kubectl is its client."""
