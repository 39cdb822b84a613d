"""Where a path lives: its volume (mount point or drive), file-system type, free space, read-only, network or synced."""
from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# File systems reached over a network: SQLite's locking and WAL's shared memory cannot be trusted there
# (https://www.sqlite.org/wal.html: "WAL does not work over a network filesystem";
# https://www.sqlite.org/useovernet.html). Any FUSE file system not known to be a local disk counts too.
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre", "gpfs",
              "davfs", "coda", "ocfs2", "gfs2", "beegfs", "orangefs", "fuse"}
LOCAL_FUSE = {"fuseblk", "fuse.fuse-overlayfs", "fuse.squashfuse", "fuse.lxcfs", "fuse.portal", "fuse.gvfsd-fuse-local"}
# Folders kept in step with a cloud by a sync client (their client rewrites files behind SQLite's back).
SYNC_ENV = ("OneDrive", "OneDriveCommercial", "OneDriveConsumer")
SYNC_NAMES = ("onedrive", "dropbox", "google drive", "googledrive", "icloud drive", "iclouddrive", "mega", "nextcloud",
              "owncloud")
DRIVE_REMOTE = 4          # GetDriveTypeW


@dataclass(frozen=True)
class Volume:
    """The volume holding a path: where it is mounted, its type, its space, and why it is not a local disk."""

    mount: Path               # mount point (POSIX) or drive root / UNC share (Windows)
    fstype: str               # ext4, tmpfs, nfs4, cifs, fuse.sshfs, NTFS, ... ("" when unknown)
    source: str               # the device or server share ("" when unknown)
    readonly: bool
    free: int | None          # bytes the current user may still write
    total: int | None
    remote: str | None        # why it is a network share or a synced folder, in Vietnamese; None on a local disk


def existing(path: str | Path) -> Path:
    """`path` itself or its nearest ancestor that exists (a file not yet written lives where its folder is)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def free_bytes(path: str | Path) -> int | None:
    try:
        return shutil.disk_usage(existing(path)).free
    except OSError:
        return None


def volume(path: str | Path) -> Volume:
    """Describe the volume of `path` (which need not exist yet)."""
    here = existing(path)
    try:
        usage = shutil.disk_usage(here)
        free, total = usage.free, usage.total
    except OSError:
        free = total = None
    if os.name == "nt":
        return _windows_volume(here, free, total)
    mount, fstype, source, ro = _posix_mount(here)
    remote = None
    if fstype in NETWORK_FS or (fstype.startswith("fuse.") and fstype not in LOCAL_FUSE):
        remote = f"ổ mạng ({fstype} {source})".replace(" )", ")")
    return Volume(mount, fstype, source, ro or _statvfs_readonly(here), free, total, remote or synced_folder(here))


def synced_folder(path: Path) -> str | None:
    """Why `path` is inside a folder a cloud sync client keeps in step (OneDrive, Dropbox, ...), or None."""
    resolved = str(path).casefold()
    for var in SYNC_ENV:
        root = os.environ.get(var)
        if root and (resolved + os.sep).startswith(os.path.abspath(root).casefold().rstrip("\\/") + os.sep):
            return f"thư mục đồng bộ OneDrive ({root})"
    for part in Path(path).parts:
        low = part.casefold()
        if low in SYNC_NAMES or low.startswith(("onedrive - ", "onedrive-")):
            return f"thư mục đồng bộ lên mạng ({part})"
    return None


# ---------------------------------------------------------------- POSIX
def parse_mountinfo(text: str) -> list[tuple[str, str, str, bool]]:
    """(mount point, fs type, source, read-only) of each line of /proc/self/mountinfo (proc(5))."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        point = _unescape(fields[4])
        options = fields[5].split(",")
        supers = tail[2].split(",") if len(tail) > 2 else []
        mounts.append((point, tail[0], _unescape(tail[1]), "ro" in options or "ro" in supers))
    return mounts


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (\\040 ...)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def find_mount(path: str, mounts: list[tuple[str, str, str, bool]]) -> tuple[str, str, str, bool] | None:
    """The mount holding `path`: the longest mount point that contains it (the last one mounted wins)."""
    best, depth = None, -1
    for m in mounts:
        point = m[0].rstrip("/")
        if (path == point or path.startswith(point + "/")) and len(point) >= depth:
            best, depth = m, len(point)
    return best


def _posix_mount(path: Path) -> tuple[Path, str, str, bool]:
    real = os.path.realpath(path)
    try:
        dev = os.stat(real).st_dev
    except OSError:
        dev = -1
    return _mount_of(real, dev)


@functools.lru_cache(maxsize=256)
def _mount_of(real: str, dev: int) -> tuple[Path, str, str, bool]:
    """The mount of a folder, parsed once per folder and device (a new mount there is a new device; whether it is
    read-only now is asked of statvfs each time)."""
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found = find_mount(real, parse_mountinfo(text)) if text else None
    if found:
        return Path(found[0]), found[1], found[2], found[3]
    point = Path(real)                                # no /proc (macOS): climb to the mount point
    while not os.path.ismount(point) and point.parent != point:
        point = point.parent
    return point, "", "", False


def _statvfs_readonly(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------- Windows
def _windows_volume(path: Path, free, total) -> Volume:
    import ntpath
    text = str(path)
    drive = ntpath.splitdrive(text)[0]
    root = drive + "\\"
    remote = None
    if text.startswith(("\\\\", "//")):
        remote = f"ổ mạng ({drive})"
    else:
        kind = _drive_type(root)
        if kind == DRIVE_REMOTE:
            remote = f"ổ mạng ánh xạ ({drive} → {_unc_of(drive) or 'máy chủ'})"
    return Volume(Path(root), _fs_name(root), _unc_of(drive) or "", _windows_readonly(root), free, total,
                  remote or synced_folder(path))


def _drive_type(root: str) -> int:
    import ctypes
    return ctypes.windll.kernel32.GetDriveTypeW(ctypes.c_wchar_p(root))


def _unc_of(drive: str) -> str | None:
    """The share a mapped drive letter points to (WNetGetConnectionW), or None."""
    if not drive or not drive.endswith(":"):
        return drive or None
    try:
        import ctypes
        buf = ctypes.create_unicode_buffer(1024)
        size = ctypes.c_ulong(len(buf))
        if ctypes.windll.mpr.WNetGetConnectionW(drive, buf, ctypes.byref(size)) == 0:
            return buf.value
    except (OSError, AttributeError):
        pass
    return None


def _volume_info(root: str) -> tuple[str, int]:
    try:
        import ctypes
        name = ctypes.create_unicode_buffer(64)
        flags = ctypes.c_ulong(0)
        ok = ctypes.windll.kernel32.GetVolumeInformationW(ctypes.c_wchar_p(root), None, 0, None, None,
                                                          ctypes.byref(flags), name, len(name))
        return (name.value, flags.value) if ok else ("", 0)
    except (OSError, AttributeError):
        return "", 0


def _fs_name(root: str) -> str:
    return _volume_info(root)[0]


def _windows_readonly(root: str) -> bool:
    return bool(_volume_info(root)[1] & 0x00080000)       # FILE_READ_ONLY_VOLUME


def human(nbytes: int | None) -> str:
    """A size for people: 1,5 MB; 820 kB; 3,2 GB (the project's number formatter)."""
    from thidua.text.numbers import format_number
    if nbytes is None:
        return "?"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(nbytes) >= size:
            return f"{format_number(nbytes / size, 1)} {unit}"
    return f"{nbytes} byte"
