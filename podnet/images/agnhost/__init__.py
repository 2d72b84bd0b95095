"""agnhost, the Kubernetes e2e test image, as a built-in podnet image (``python -m podnet.images.agnhost``).

Subcommands: netexec, serve-hostname, connect, pause, and the small file readers etc-hosts, dns-suffix and
dns-server-list. Only the standard library is used and each subcommand imports only what it needs, so a
container is serving within a few tens of milliseconds of exec. See podnet/images/README.md.
"""
