"""The garbage collector: ownerReference-driven deletion, as Kubernetes' garbagecollector package."""
