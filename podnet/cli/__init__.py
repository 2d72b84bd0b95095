"""The ``podnet`` command."""
