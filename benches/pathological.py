#!/usr/bin/env python3
"""Writes one pathological strace trace (the `-f -o` layout) to stdout.

SYNTHETIC: these shapes are built line by line as strace 6.x prints them
(see fixtures/strace/*/trace.log for the real recordings they imitate); they
exist to measure cost, which needs sizes no real recording of ours has.

usage: pathological.py CASE N
  open_close     N open/close pairs of one fd
  threads        N threads spawned and exited while 1000 fds are live
  live_fds       N fds opened and never closed
  forks          10000 live fds, then N forked children that exit
  short_procs    N short processes, each exiting with 3 fds open
  close_range    N close_range double closes (two calls over one fd each)
  long_line      a first line of N bytes (a write), then an ordinary open/close
  bad_close      N close(-1) calls
  findings       N distinct findings: N double closes of fd 3, each of a file
                 with its own name (digits fold into one site, so the names
                 are letters), and every 8th one a file left open at exit
                 (one more finding: leaks group by allocation site); for the
                 reporters at scale
"""
import sys

CLONE_THREAD = ("clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
                "CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
                "child_tid=0x7f38ae7f2990, parent_tid=0x7f38ae7f2990, exit_signal=0, "
                "stack=0x7f38adff2000, stack_size=0x7fff80, tls=0x7f38ae7f26c0} => "
                "{parent_tid=[%d]}, 88) = %d\n")
FORK = ("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
        "child_tidptr=0x7f3c1a2b4a10) = %d\n")
OPEN = 'openat(AT_FDCWD, "%s", O_RDONLY|O_CLOEXEC) = %d\n'


def letters(i):
    """`i` in base 26 as letters: names that stay distinct sites (digit
    runs in resources fold into one)."""
    s = ""
    while True:
        s = chr(97 + i % 26) + s
        i //= 26
        if i == 0:
            return s


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    out = sys.stdout
    w = out.write
    root = 1000
    execve = '%d execve("./prog", ["./prog"], 0x7ffe /* 5 vars */) = 0\n' % root
    if case != "long_line":
        w(execve)
    if case == "open_close":
        line = "%d %s%d close(3) = 0\n" % (root, OPEN % ("/etc/hostname", 3), root)
        for _ in range(n):
            w(line)
    elif case == "threads":
        for fd in range(3, 1003):
            w("%d %s" % (root, OPEN % ("/tmp/f%d" % fd, fd)))
        for i in range(n):
            tid = 100000 + i
            w("%d %s" % (root, CLONE_THREAD % (tid, tid)))
            w("%d read(3, \"x\", 1) = 1\n" % tid)
            w("%d +++ exited with 0 +++\n" % tid)
    elif case == "live_fds":
        for fd in range(3, n + 3):
            w("%d %s" % (root, OPEN % ("/data/part%d" % fd, fd)))
    elif case == "forks":
        for fd in range(3, 10003):
            w("%d %s" % (root, OPEN % ("/tmp/f%d" % fd, fd)))
        for i in range(n):
            child = 100000 + i
            w("%d %s" % (root, FORK % child))
            w("%d close(3) = 0\n" % child)
            w("%d exit_group(0) = ?\n" % child)
            w("%d +++ exited with 0 +++\n" % child)
    elif case == "short_procs":
        for i in range(n):
            child = 100000 + i
            w("%d %s" % (root, FORK % child))
            for fd in (3, 4, 5):
                w("%d %s" % (child, OPEN % ("/run/job%d/f%d" % (i, fd), fd)))
            w("%d exit_group(0) = ?\n" % child)
            w("%d +++ exited with 0 +++\n" % child)
    elif case == "close_range":
        for i in range(n):
            w("%d %s" % (root, OPEN % ("/etc/hostname", 3)))
            w("%d close_range(3, 3, 0) = 0\n" % root)
            w("%d close_range(3, 3, 0) = 0\n" % root)
    elif case == "long_line":
        w("%d write(1, \"" % root)
        chunk = "a" * 65536
        left = n
        while left > 0:
            w(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        w("\", %d) = %d\n" % (n, n))
        w(execve)
        w("%d %s%d close(3) = 0\n" % (root, OPEN % ("/etc/hostname", 3), root))
    elif case == "bad_close":
        for _ in range(n):
            w("%d close(-1) = -1 EBADF (Bad file descriptor)\n" % root)
    elif case == "findings":
        leaked = 0
        for i in range(n):
            name = letters(i)
            w("%d %s" % (root, OPEN % ("/data/in-" + name, 3)))
            w("%d close(3) = 0\n" % root)
            w("%d close(3) = -1 EBADF (Bad file descriptor)\n" % root)
            if i % 8 == 0:
                w("%d %s" % (root, OPEN % ("/data/kept-" + name, 4 + leaked)))
                leaked += 1
    else:
        sys.exit("unknown case " + case)
    w("%d exit_group(0) = ?\n%d +++ exited with 0 +++\n" % (root, root))


if __name__ == "__main__":
    main()
