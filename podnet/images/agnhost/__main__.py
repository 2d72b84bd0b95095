"""Entry point, both as ``python -m podnet.images.agnhost`` and as ``python -I .../agnhost/__main__.py``.

The second form is how pods run it (see podnet/images/registry.py): ``-I`` keeps the pod's environment
(PYTHONPATH, PYTHONHOME) from steering the interpreter, and isolation also drops the script's folder from
sys.path, so the source root is put back explicitly.
"""

import os
import sys

if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    )

from podnet.images.agnhost.cli import main

sys.exit(main(sys.argv[1:]))
