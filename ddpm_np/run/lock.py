"""The lock of a folder being worked in: one writer at a time, whole or absent, stale locks
named with how to take them over."""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path

from .checkpoint import remove_stale_temporaries
from .state import RunError

LOCK = "training.lock"


class RunLock:
    """The lock of a folder being worked in (`training.lock` for a run, or `name`), holding
    "host pid". It is written whole or not at all: the text goes to a temporary file, which is
    then hard-linked to the lock's name (atomic, and refused if the lock exists), so a full
    disk leaves no empty lock. A second writer is refused at once (RunError naming the holder);
    a lock left by a process that no longer runs on this host is taken over; a lock of another
    host, or one that cannot be read, is refused with how to take it over if it is stale.
    Without it, a second `train --resume` of the same run would remove the first's temporary
    files and both would write the same checkpoint."""

    def __init__(self, folder, name: str = LOCK, activity: str = "trained"):
        self.path = Path(folder) / name
        self.activity = activity            # "<folder> is being <activity> by process …"
        self.held = False

    def acquire(self):
        me = f"{socket.gethostname()} {os.getpid()}\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(me)
                f.flush()
                os.fsync(f.fileno())
            for _ in range(2):
                try:
                    _link_or_create(tmp, self.path, me)
                except FileExistsError:
                    holder, stale = self._holder()
                    if holder is None:              # its process is gone: take it over
                        self.path.unlink(missing_ok=True)
                        continue
                    raise RunError(self._refusal(holder, stale)) from None
                self.held = True
                return
        finally:
            os.unlink(tmp)
        raise RunError(f"cannot take the lock {self.path}")

    def check_free(self):
        """Refuse (RunError) now if a live process holds the lock: called before anything in
        the folder is removed or replaced, so that --overwrite never deletes the files of a
        run that is being trained."""
        if self.path.exists():
            holder, stale = self._holder()
            if holder is not None:
                raise RunError(self._refusal(holder, stale))

    def _refusal(self, holder, stale) -> str:
        text = (f"{self.path.parent} is being {self.activity} by process {holder} (lock "
                f"{self.path}); wait for it to finish or stop it, or use another --out")
        if stale:
            text += (f". If no such process runs, the lock is stale ({stale}): delete "
                     f"{self.path} to take it over")
        return text

    def release(self):
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def _holder(self):
        """("pid on host", why it may be stale or "") of a live or unknown holder; (None, "")
        for a lock whose process is gone from this host."""
        try:
            host, pid = self.path.read_text().split()
            pid = int(pid)
        except FileNotFoundError:
            return None, ""                         # released meanwhile
        except (OSError, ValueError, UnicodeDecodeError):
            return "unknown", "the lock file is unreadable or empty"
        if host != socket.gethostname():
            return f"{pid} on {host}", f"it was taken on another host, {host}"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None, ""
        except PermissionError:
            pass
        return f"{pid} on {host}", ""


def _link_or_create(tmp: str, path: Path, text: str):
    """Make `path` hold `text`, failing with FileExistsError if it exists: a hard link of the
    whole temporary file `tmp`; where the file system has no hard links, an exclusive create
    (then a failed write removes what it made)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError:
        pass
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def run_held(world, folder, checkpoint):
    """A run's folder held by one writer for the block (nothing if `folder` is None): rank 0
    takes its RunLock, then removes what a killed write of `checkpoint` left."""
    if folder is None:
        yield
        return
    lock = RunLock(folder)
    world.root_does(lock.acquire)
    try:
        world.root_does(lambda: remove_stale_temporaries(checkpoint))
        yield
    finally:
        lock.release()
