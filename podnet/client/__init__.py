"""Clients of the podnet API: REST client, list+watch informers, work queues.

Shared by the controllers, the node agent and DNS. Everything here speaks
the Kubernetes API over HTTP; nothing reaches into the API server's store.
"""
