#!/usr/bin/env python3
"""Interleaved rounds of logscan (one thread) and the bench's one-pass mawk TLS counter on
the same logs: on a machine whose speed drifts, alternating the two gives a steadier ratio
than bench/logscan.sh's fastest-of-N blocks.

    python3 bench/logscan_vs_mawk.py ROUNDS LOGSCAN LOG...
    python3 bench/logscan_vs_mawk.py 5 logscan/logscan bench/out/postfix-realistic-1024-g2.log

Each log goes to each program on stdin (logscan maps it; mawk reads it), output discarded.
Prints per log: wall-time minimum and median of each, the ratios (mawk / logscan) of the
minima and of the medians, and of the median CPU times (user + system).
"""
import os
import re
import statistics as st
import sys
import time


def awk1():
    """The one-pass counter, AWK1, as bench/logscan.sh defines it (one definition of it)."""
    sh = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logscan.sh")
    for line in open(sh):
        m = re.match(r"^AWK1='(.*)'$", line.rstrip("\n"))
        if m:
            return m.group(1)
    sys.exit("%s: no AWK1='...' line" % sh)


def run(argv, env, path):
    fd = os.open(path, os.O_RDONLY)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.dup2(fd, 0)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.execvpe(argv[0], argv, env)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    os.close(fd)
    if status != 0:
        sys.exit("%s failed on %s (status %d)" % (argv[0], path, status))
    return wall, ru.ru_utime + ru.ru_stime


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    try:
        rounds = int(sys.argv[1])
    except ValueError:
        sys.exit("ROUNDS must be a number, not %r" % sys.argv[1])
    ls, logs = sys.argv[2], sys.argv[3:]
    for path in [ls] + logs:
        if not os.path.isfile(path):
            sys.exit("%s: no such file" % path)
    progs = (("logscan", [ls, "-"], dict(os.environ, LOGSCAN_THREADS="1")),
             ("mawk", ["mawk", awk1()], dict(os.environ)))
    for path in logs:
        res = {name: [] for name, _, _ in progs}
        for _ in range(rounds):
            for name, argv, env in progs:
                res[name].append(run(argv, env, path))
        mb = os.path.getsize(path) / 1e6
        lw = [w for w, _ in res["logscan"]]
        mw = [w for w, _ in res["mawk"]]
        lc = [c for _, c in res["logscan"]]
        mc = [c for _, c in res["mawk"]]
        print("%s: logscan wall min %.3f med %.3f s (%.0f MB/s at min); mawk min %.3f med %.3f s;"
              " mawk/logscan: min %.2fx, median %.2fx, median CPU %.2fx"
              % (os.path.basename(path), min(lw), st.median(lw), mb / min(lw), min(mw), st.median(mw),
                 min(mw) / min(lw), st.median(mw) / st.median(lw), st.median(mc) / st.median(lc)))


if __name__ == "__main__":
    main()
