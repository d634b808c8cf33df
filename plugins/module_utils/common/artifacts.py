# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every file the collection writes (snapshot, plan, results, journal, reports) goes through here.

Artifacts hold the cluster's layout, tags and guest names, so they are created 0600 whatever the umask,
0640 when a group is configured (``group`` argument, else the environment variable
``PROXLB_ARTIFACT_GROUP``), and never written through a symbolic link: a link planted at the path is
refused with one line naming the path. Whole files are written to a temporary file created exclusively
(``O_EXCL|O_NOFOLLOW``) in the same directory, then renamed over the path, so a reader never sees half a
file. The journal is appended through ``O_NOFOLLOW|O_APPEND``. Directories are created 0750.
See docs/security.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import json
import os
import stat

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

try:
    import grp
except ImportError:  # not on the controller platforms Ansible supports, but keep the import test green
    grp = None

FILE_MODE = 0o600
GROUP_FILE_MODE = 0o640
DIR_MODE = 0o750
GROUP_ENV = "PROXLB_ARTIFACT_GROUP"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class ArtifactError(ConfigError):
    """An artifact path cannot be written safely (a symlink, not a regular file, no permission)."""


def _reason(exc):
    return exc.strerror or str(exc)


def group_id(group=None, environ=None):
    """The gid artifacts are given to: ``group`` (name or number), else $PROXLB_ARTIFACT_GROUP, else None."""
    if group in (None, ""):
        group = (os.environ if environ is None else environ).get(GROUP_ENV) or None
    if group is None:
        return None
    text = str(group).strip()
    if text.isdigit():
        return int(text)
    if grp is None:
        raise ArtifactError("artifact group %r: group names cannot be looked up on this platform" % text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ArtifactError("artifact group %r: no such group on the controller" % text[:64])


def _mode(gid):
    return FILE_MODE if gid is None else GROUP_FILE_MODE


def refuse_symlink(path, what="artifact"):
    """Raise ArtifactError when ``path`` is a symbolic link (dangling or not); no path, no check."""
    if not path:
        return
    try:
        info = os.lstat(path)
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise ArtifactError("%s %s: is a symbolic link; refusing to write through it (remove it or choose "
                            "another path)" % (what, path))


def _set_owner_mode(fd, gid, path, what):
    try:
        if gid is not None and os.fstat(fd).st_gid != gid:
            os.fchown(fd, -1, gid)
        os.fchmod(fd, _mode(gid))
    except OSError as exc:
        raise ArtifactError("%s %s: cannot set its group or mode (%s)" % (what, path, _reason(exc)))


def ensure_dir(path, group=None, what="directory"):
    """Create ``path`` (and missing parents) mode 0750; an existing directory is left as it is."""
    if not path or os.path.isdir(path):
        return path
    refuse_symlink(path, what)
    gid = group_id(group)
    missing, current = [], os.path.abspath(path)
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    try:
        for directory in reversed(missing):
            try:
                os.mkdir(directory, DIR_MODE)
            except OSError as exc:
                if exc.errno == errno.EEXIST and os.path.isdir(directory):
                    continue  # created meanwhile by someone else: left as it is
                raise
            os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
            if gid is not None:
                os.chown(directory, -1, gid)
    except OSError as exc:
        raise ArtifactError("%s %s: cannot create it (%s)" % (what, path, _reason(exc)))
    return path


def write_text(path, text, group=None, what="artifact"):
    """Write ``text`` to ``path`` atomically, mode 0600 (0640 with a group), never through a symlink."""
    refuse_symlink(path, what)
    gid = group_id(group)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    data = text.encode("utf-8") if not isinstance(text, bytes) else text
    tmp = None
    try:
        for _attempt in range(100):
            candidate = os.path.join(directory, ".%s.%s.tmp" % (base, binascii.hexlify(os.urandom(6)).decode()))
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise
            tmp = candidate
            break
        else:
            raise ArtifactError("%s %s: cannot create a temporary file beside it" % (what, path))
        try:
            _set_owner_mode(fd, gid, path, what)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        refuse_symlink(path, what)  # planted while we wrote: still refuse
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ArtifactError("%s %s: cannot write it (%s)" % (what, path, _reason(exc)))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def write_json(path, document, group=None, what="artifact"):
    """Write a document as stable, indented JSON (sorted keys, trailing newline)."""
    return write_text(path, json.dumps(document, indent=1, sort_keys=True) + "\n", group, what)


def append_line(path, line, group=None, what="journal", sync=True):
    """Append one line to ``path`` (created 0600/0640), never through a symlink; fsync'ed by default."""
    gid = group_id(group)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise ArtifactError("%s %s: is a symbolic link; refusing to write through it (remove it or choose "
                                "another path)" % (what, path))
        raise ArtifactError("%s %s: cannot write it (%s)" % (what, path, _reason(exc)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError("%s %s: is not a regular file" % (what, path))
        if stat.S_IMODE(info.st_mode) != _mode(gid) and info.st_uid == os.geteuid():
            _set_owner_mode(fd, gid, path, what)
        data = (line if line.endswith("\n") else line + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    except OSError as exc:
        raise ArtifactError("%s %s: cannot write it (%s)" % (what, path, _reason(exc)))
    finally:
        os.close(fd)
    return path
