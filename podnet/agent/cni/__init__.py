"""``podnet-cni``: a CNI 1.1.0 bridge plugin with a built-in host-local style IPAM.

Kept empty on purpose: the executable a runtime calls imports this package, and every import here
would be paid on each ADD and DEL.
"""
