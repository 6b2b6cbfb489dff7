"""
Run a Python module or script and record its own peak resident memory.

``python _peak.py -m MODULE ARGS...`` or ``python _peak.py SCRIPT ARGS...``
runs it as ``__main__`` and, when it ends (also on an error or exit), writes
the process's ``VmHWM`` in bytes to the file named by ``PEAK_FILE``. Unlike a
child's ``ru_maxrss``, which on Linux starts from its parent's resident size
when it is started, ``VmHWM`` counts only this process's own memory, so a
benchmark that holds gigabytes itself still measures its children fairly.
"""

from __future__ import annotations

import os
import runpy
import sys


def _vm_hwm() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main() -> None:
    args = sys.argv[1:]
    try:
        if args[0] == "-m":
            sys.argv = [args[1], *args[2:]]
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = args
            runpy.run_path(args[0], run_name="__main__")
    finally:
        peak, target = _vm_hwm(), os.environ.get("PEAK_FILE")
        if peak is not None and target:
            with open(target, "w") as handle:
                handle.write(str(peak))


if __name__ == "__main__":
    main()
