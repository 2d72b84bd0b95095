"""The default scheduler: binds pending pods to fitting nodes, spreading them by pod count."""
