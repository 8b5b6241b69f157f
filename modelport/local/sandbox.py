"""Run a container entry point with the local state directory out of its reach (Landlock).

Endpoint instances, training and drift jobs run user code as the user running `local up`,
so file modes alone cannot keep a predictor from `<state>/admin.key`, the embedded AWS's
journal or another model's data: it only has to learn the path (`/proc/<ppid>/cmdline`
names it). Before the entry point is imported, this module restricts the process with
Linux's Landlock LSM (unprivileged, inherited by its children, irrevocable):

* everything outside the state directory stays as it was (the interpreter, the checkout,
  the scratch working directory, /tmp);
* inside it, only what the job needs: its model directory (read), its job directory
  (read and write); the rest cannot be read, written or executed (names stay listable:
  Landlock grants listing a directory to everything below it, and the state directory's
  parents must stay listable for imports from the checkout);
* Landlock also stops the process from ptrace-reading less restricted ones, so
  `/proc/<platform pid>/environ`, `cwd`, `fd` and `mem` are closed to it.

`python -m modelport.local.sandbox <module> [args...]` with `MODELPORT_SANDBOX` =
`{"hidden": path, "read": [paths], "write": [paths]}`. Where the kernel has no Landlock
(not Linux, or older than 5.13), it says so in the job's log and runs the module anyway.
Standard library only: it starts before anything else in the child.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import runpy
import stat
import sys
from pathlib import Path

ENV = "MODELPORT_SANDBOX"

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION_FLAG = 1
_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_DIR_RIGHTS_V1 = sum(1 << bit for bit in range(4, 13))  # remove, make char/dir/reg/sock/fifo/block/sym
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """Landlock's ABI version on this kernel (0: none)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION_FLAG))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def available() -> bool:
    return abi_version() >= 1


def restrict(hidden: Path, read: list[Path], write: list[Path]) -> None:
    """Restrict this process (and what it starts) to everything but `hidden`, plus `read`
    and `write` inside it. Raises OSError when Landlock refuses."""
    version = abi_version()
    if version < 1:
        raise OSError("Landlock is not available on this kernel")
    file_rights = _EXECUTE | _WRITE_FILE | _READ_FILE | (_TRUNCATE if version >= 3 else 0)
    file_rights |= _IOCTL_DEV if version >= 5 else 0
    all_rights = file_rights | _READ_DIR | _DIR_RIGHTS_V1 | (_REFER if version >= 2 else 0)
    libc = _libc()
    handled = ctypes.c_uint64(all_rights)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(handled), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")

    def allow(path: Path, rights: int, *, needed: bool = False) -> None:
        """Grant `rights` below `path`. A rule that cannot be added leaves that path denied,
        which is safe; only the rules the job needs (`needed`) must succeed."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            if needed:
                raise
            return  # gone meanwhile, or unreachable anyway
        try:
            granted = rights if stat.S_ISDIR(os.fstat(fd).st_mode) else rights & file_rights
            rule = _PathBeneath(granted, fd)
            added = libc.syscall(_ADD_RULE, ruleset, ctypes.c_int(_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0))
            if added and needed:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)

    try:
        hidden = hidden.resolve()
        chain = [hidden, *hidden.parents]  # the state directory, its parent, ..., /
        for below, ancestor in itertools.pairwise(chain):
            allow(ancestor, _READ_DIR)  # listing only: nothing below it may be read by this rule
            for entry in os.scandir(ancestor):
                target = Path(entry.path).resolve()
                if target == below or hidden.is_relative_to(target) or target.is_relative_to(hidden):
                    continue  # on the way to the state directory, or a link into it
                allow(Path(entry.path), all_rights)
        for path in read:
            allow(path, _READ_FILE | _READ_DIR | _EXECUTE, needed=True)
        for path in write:
            allow(path, all_rights, needed=True)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def main() -> None:
    module, args = sys.argv[1], sys.argv[2:]
    spec = json.loads(os.environ.pop(ENV, "{}") or "{}")
    if spec.get("hidden"):
        if available():
            try:
                restrict(Path(spec["hidden"]), [Path(p) for p in spec.get("read", [])],
                         [Path(p) for p in spec.get("write", [])])
            except OSError as exc:  # fail closed: no user code runs unconfined where Landlock exists
                sys.exit(f"modelport local: could not confine this process to its own files: {exc}")
        else:
            print("modelport local: this kernel has no Landlock; this process can read the state directory",
                  file=sys.stderr, flush=True)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
