"""``agnhost pause``: print ``Paused`` and wait for a signal, for containers that only have to stay Running.

Exit codes are agnhost's: 1 after SIGINT, 2 after SIGTERM (the kubelet reports the latter as the
container's exit code on deletion), after an optional ``--delay-shutdown`` sleep.
"""

from __future__ import annotations

import signal
import sys
import time

from podnet.images.agnhost.flags import Flag

FLAGS = [
    Flag("delay-shutdown", "int", 0, "Number of seconds to delay shutdown when receiving SIGTERM/SIGINT.")
]

EXIT_CODES = {signal.SIGINT: 1, signal.SIGTERM: 2}


def run(values: dict[str, object]) -> int:
    delay = int(str(values["delay-shutdown"]))
    signal.pthread_sigmask(signal.SIG_BLOCK, set(EXIT_CODES))
    sys.stdout.write("Paused\n")
    sys.stdout.flush()
    received = signal.sigwait(set(EXIT_CODES))
    result = EXIT_CODES[signal.Signals(received)]
    if delay > 0:
        sys.stdout.write(f"Sleeping {delay} seconds before exit ...")
        sys.stdout.flush()
        time.sleep(delay)
    sys.stdout.write(f"exiting {result}\n")
    sys.stdout.flush()
    return result
