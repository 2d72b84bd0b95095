"""The Deployment controller: roll ReplicaSets from one pod template to the next (Kubernetes deployment/)."""
