"""The lab's named namespaces: the kernel adapter lives in ``podnet.kernel.named_netns`` (the agent
uses it for pod sandboxes too); these names stay importable from here for the lab's modules."""

from podnet.kernel.named_netns import (
    NETNS_RUN_DIR,
    create_netns,
    delete_netns,
    list_netns,
    mount_tmpfs,
    netns_inode,
    netns_path,
    run_in_netns,
    umount_detach,
)

__all__ = [
    "NETNS_RUN_DIR",
    "create_netns",
    "delete_netns",
    "list_netns",
    "mount_tmpfs",
    "netns_inode",
    "netns_path",
    "run_in_netns",
    "umount_detach",
]
