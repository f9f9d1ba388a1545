#!/usr/bin/env python3
"""notify_listener.py - a stand-in for systemd's notification socket, for
daemon tests (python3 standard library only).

  notify_listener.py listen SOCKET OUT [--ready-file F] [--timeout S]
      Bind an AF_UNIX datagram socket at SOCKET (a path, or "@name" for the
      abstract namespace, as in NOTIFY_SOCKET) and append one line per
      datagram to OUT:

          <monotonic seconds> pid=<sender pid> <payload>

      The time is CLOCK_MONOTONIC (comparable with the daemon's own clock);
      the pid comes from SCM_CREDENTIALS; in the payload a newline (between
      assignments) is written "\\n" and a backslash "\\\\". Descriptors
      passed with the datagram (systemd-notify's BARRIER=1) are closed at
      once, which releases the sender. F is created once the socket is
      bound: start the listener in the background, wait for F, then start
      the daemon with NOTIFY_SOCKET=SOCKET. Runs until SIGTERM/SIGINT or S
      seconds (default 600), then removes a path socket.

  notify_listener.py wait OUT ASSIGNMENT [--count N] [--timeout S]
      Exit 0 once OUT holds N (default 1) datagrams with ASSIGNMENT (e.g.
      READY=1, WATCHDOG=1; "STATUS=" matches any status), 1 after S seconds
      (default 30).

  notify_listener.py order OUT ASSIGNMENT...
      Exit 0 when the assignments were first seen in this order (e.g.
      READY=1 WATCHDOG=1 STOPPING=1), 1 otherwise.

  notify_listener.py quiet OUT ASSIGNMENT --for S
      Watch OUT for S seconds; exit 1 if a new datagram with ASSIGNMENT
      arrives meanwhile (e.g. no WATCHDOG=1 while the daemon is SIGSTOPped).

  notify_listener.py count OUT ASSIGNMENT
      Print how many datagrams hold ASSIGNMENT, and the largest gap between
      two of them in seconds.

An assignment matches a datagram when one of its lines equals it, or when
it ends with '=' and a line starts with it.
"""

import argparse
import array
import os
import signal
import socket
import struct
import sys
import time

POLL_S = 0.05


def encode(payload):
    """One datagram as one line: newlines and backslashes escaped."""
    text = payload.decode("utf-8", errors="backslashreplace")
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def decode_lines(escaped):
    """The assignments of one logged payload."""
    out, cur, i = [], [], 0
    while i < len(escaped):
        c = escaped[i]
        if c == "\\" and i + 1 < len(escaped):
            nxt = escaped[i + 1]
            if nxt == "n":
                out.append("".join(cur))
                cur = []
            else:
                cur.append(nxt)
            i += 2
            continue
        cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def read_log(path):
    """[(time, pid, [assignment, ...]), ...] from OUT (missing file: [])."""
    entries = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                parts = line.split(" ", 2)
                if len(parts) < 3 or not parts[1].startswith("pid="):
                    continue
                entries.append((float(parts[0]), parts[1][4:], decode_lines(parts[2])))
    except FileNotFoundError:
        pass
    return entries


def matches(assignments, want):
    if want.endswith("="):
        return any(a.startswith(want) for a in assignments)
    return want in assignments


def times_of(path, want):
    return [t for t, _, a in read_log(path) if matches(a, want)]


def sockaddr(name):
    """NOTIFY_SOCKET syntax: '@' starts an abstract-namespace name."""
    if name.startswith("@"):
        return "\0" + name[1:]
    return name


def cmd_listen(args):
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    path = None if args.socket.startswith("@") else args.socket
    if path and os.path.exists(path):
        os.unlink(path)
    sock.bind(sockaddr(args.socket))
    sock.settimeout(POLL_S)
    ucred_size = struct.calcsize("3i")
    cmsg_space = socket.CMSG_SPACE(ucred_size) + socket.CMSG_SPACE(16 * 4)
    deadline = time.monotonic() + args.timeout

    with open(args.out, "a", encoding="utf-8") as out:
        if args.ready_file:
            with open(args.ready_file, "w", encoding="utf-8") as f:
                f.write("%d\n" % os.getpid())
        while not stop and time.monotonic() < deadline:
            try:
                data, ancdata, _, _ = sock.recvmsg(65536, cmsg_space)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            now = time.monotonic()
            pid = "?"
            for level, kind, cdata in ancdata:
                if level != socket.SOL_SOCKET:
                    continue
                if kind == socket.SCM_CREDENTIALS and len(cdata) >= ucred_size:
                    pid = str(struct.unpack("3i", cdata[:ucred_size])[0])
                elif kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(cdata[: len(cdata) - len(cdata) % fds.itemsize])
                    for fd in fds:
                        os.close(fd)
            out.write("%.6f pid=%s %s\n" % (now, pid, encode(data)))
            out.flush()
    sock.close()
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return 0


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    while True:
        n = len(times_of(args.out, args.assignment))
        if n >= args.count:
            return 0
        if time.monotonic() >= deadline:
            print("notify_listener: %d x %s not seen within %g s (saw %d) in %s"
                  % (args.count, args.assignment, args.timeout, n, args.out), file=sys.stderr)
            return 1
        time.sleep(POLL_S)


def cmd_order(args):
    entries = read_log(args.out)
    pos = 0
    for want in args.assignments:
        while pos < len(entries) and not matches(entries[pos][2], want):
            pos += 1
        if pos == len(entries):
            seen = " | ".join(",".join(a) for _, _, a in entries)
            print("notify_listener: %s not seen in order %s; saw: %s"
                  % (want, " ".join(args.assignments), seen or "nothing"), file=sys.stderr)
            return 1
        pos += 1
    return 0


def cmd_quiet(args):
    before = len(times_of(args.out, args.assignment))
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        n = len(times_of(args.out, args.assignment))
        if n > before:
            print("notify_listener: %s arrived during the %g s quiet period (%d new)"
                  % (args.assignment, args.seconds, n - before), file=sys.stderr)
            return 1
    return 0


def cmd_count(args):
    ts = times_of(args.out, args.assignment)
    gap = max((b - a for a, b in zip(ts, ts[1:])), default=0.0)
    print("%d %.3f" % (len(ts), gap))
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("listen")
    s.add_argument("socket")
    s.add_argument("out")
    s.add_argument("--ready-file")
    s.add_argument("--timeout", type=float, default=600.0)
    s.set_defaults(func=cmd_listen)

    s = sub.add_parser("wait")
    s.add_argument("out")
    s.add_argument("assignment")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--timeout", type=float, default=30.0)
    s.set_defaults(func=cmd_wait)

    s = sub.add_parser("order")
    s.add_argument("out")
    s.add_argument("assignments", nargs="+")
    s.set_defaults(func=cmd_order)

    s = sub.add_parser("quiet")
    s.add_argument("out")
    s.add_argument("assignment")
    s.add_argument("--for", dest="seconds", type=float, required=True)
    s.set_defaults(func=cmd_quiet)

    s = sub.add_parser("count")
    s.add_argument("out")
    s.add_argument("assignment")
    s.set_defaults(func=cmd_count)

    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
