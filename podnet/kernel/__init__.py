"""Thin adapters to the kernel: netlink (pyroute2), network namespaces, sysctl.

Nothing here decides anything; callers pass the namespace they mean, so no adapter ever acts on a
namespace by accident.
"""
