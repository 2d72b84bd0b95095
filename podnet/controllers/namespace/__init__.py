"""The namespace controller: empties a terminating Namespace, then releases its ``kubernetes`` finalizer."""
