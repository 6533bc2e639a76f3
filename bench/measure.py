"""Run one command and print its wall time, and the peak memory and CPU time of its whole process tree, as JSON.

    python bench/measure.py -- COMMAND [ARG ...]

This process makes itself the "child subreaper", so workers that outlive their parent (a
multiprocessing fork server, for one) are reparented here and reaped; the largest resident set
size of any process in the tree then shows in RUSAGE_CHILDREN, and its CPU time is the sum over
the tree (on a busy machine, wall time grows with the load and CPU time much less). A fresh
process per command keeps figures from one command out of the next.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: measure.py -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    while True:  # reap orphaned descendants so their peak memory is counted
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "status": proc.returncode,
                      "stderr": err.decode("utf-8", "replace")[-2000:]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
