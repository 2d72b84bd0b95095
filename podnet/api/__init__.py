"""The Kubernetes objects podnet serves: scheme, metadata, defaulting, validation, selectors.

Pure: nothing here does I/O. Objects are plain JSON dicts, exactly as the API
carries them, so fields podnet does not interpret are kept as sent.
"""
