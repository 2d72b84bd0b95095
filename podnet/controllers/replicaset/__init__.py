"""The ReplicaSet controller: keep `spec.replicas` pods of a template alive (Kubernetes replica_set.go)."""
