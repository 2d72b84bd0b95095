"""Built-in container images: no registry is reachable, so an image name selects a recipe run on the host.

``registry.resolve_image`` maps a container's image, command and args to the argv the agent executes inside
the pod's namespaces; ``agnhost`` and ``webserver`` are the images implemented here. See README.md.
"""
