"""LoadBalancer IPAM: external IPs for Services of type LoadBalancer from configured pools."""
