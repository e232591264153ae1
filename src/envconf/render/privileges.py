"""``--user USER[:GROUP]``: drop root privileges before exec, the way su-exec does.

envconf renders as root (so it can read root-only secrets), then becomes the app's
user. The steps follow su-exec and gosu, in the order that is safe: supplementary
groups, then the gid, then the uid (after ``setuid`` no group change is allowed).
Only the standard library is imported here: this runs on every container start.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import MutableMapping
from dataclasses import dataclass

from envconf.errors import EnvconfError

__all__ = ["Credentials", "PrivilegeError", "drop_privileges", "resolve_user"]

_NUMERIC = re.compile(r"[0-9]+")
_MAX_ID = 2**32 - 2  # (uid_t)-1 means "unchanged" to the kernel


class PrivilegeError(EnvconfError):
    """``--user`` names an unknown user or group, or the switch to it failed."""


@dataclass(frozen=True)
class Credentials:
    """The identity ``--user`` resolves to.

    ``user`` is the passwd name whose supplementary groups are used (``initgroups``),
    or ``None`` when the groups are just ``[gid]``.
    """

    uid: int
    gid: int
    home: str
    user: str | None = None


def resolve_user(spec: str) -> Credentials:
    """Resolve ``USER[:GROUP]`` (names or numeric ids) without changing anything.

    Like su-exec: USER is looked up by name, or by number (a numeric uid missing from
    /etc/passwd is allowed, with HOME ``/``). Without GROUP the user's primary group is
    used, and for an unknown numeric uid the gid equals the uid (su-exec and gosu keep
    the caller's gid there, which would leave the app in group root). Supplementary
    groups come from /etc/group for a user found in /etc/passwd when no GROUP is given;
    otherwise they are just the gid.

    Raises:
        PrivilegeError: the spec is malformed or names an unknown user or group (every
            problem is listed).
    """
    user_part, sep, group_part = spec.partition(":")
    problems: list[str] = []
    if not user_part:
        problems.append("no user given (expected USER[:GROUP])")
    if ":" in group_part:
        problems.append("more than one ':' (expected USER[:GROUP])")
    if problems:
        raise _error(spec, problems)

    entry: pwd.struct_passwd | None = None
    uid = -1
    if _NUMERIC.fullmatch(user_part):
        uid = int(user_part)
        if uid > _MAX_ID:
            problems.append(f"uid {user_part} is out of range")
        else:
            try:
                entry = pwd.getpwuid(uid)
            except KeyError:
                entry = None
    else:
        try:
            entry = pwd.getpwnam(user_part)
            uid = entry.pw_uid
        except KeyError:
            problems.append(f"unknown user {user_part!r} (not in /etc/passwd)")

    gid = entry.pw_gid if entry is not None else uid
    if sep and group_part:
        if _NUMERIC.fullmatch(group_part):
            gid = int(group_part)
            if gid > _MAX_ID:
                problems.append(f"gid {group_part} is out of range")
        else:
            try:
                gid = grp.getgrnam(group_part).gr_gid
            except KeyError:
                problems.append(f"unknown group {group_part!r} (not in /etc/group)")
    if problems:
        raise _error(spec, problems)

    return Credentials(
        uid=uid,
        gid=gid,
        home=entry.pw_dir if entry is not None and entry.pw_dir else "/",
        user=entry.pw_name if entry is not None and not group_part else None,
    )


def drop_privileges(spec: str, env: MutableMapping[str, str]) -> None:
    """Become ``spec``'s user and group for good, and set ``env["HOME"]``.

    Sets supplementary groups, then the gid, then the uid (real, effective and saved),
    then checks that root cannot be regained. Like su-exec and gosu, only ``HOME`` is
    changed in ``env``; ``USER`` and ``LOGNAME`` are left as they are.
    Without root, a spec that matches the current uid and gid is accepted as a no-op.

    Raises:
        PrivilegeError: the spec is invalid, envconf is not root and the spec names
            someone else, or a step failed.
    """
    creds = resolve_user(spec)
    if os.geteuid() != 0:
        if (creds.uid, creds.gid) != (os.getuid(), os.getgid()):
            raise _error(
                spec,
                [
                    f"only root can switch users, and envconf runs as uid {os.getuid()} "
                    f"gid {os.getgid()} (drop --user, or start the container as root)"
                ],
            )
        env["HOME"] = creds.home
        return
    try:
        if creds.user is not None:
            os.initgroups(creds.user, creds.gid)
        else:
            os.setgroups([creds.gid])
        os.setgid(creds.gid)
        os.setuid(creds.uid)
    except OSError as exc:
        raise _error(spec, [f"switching to uid {creds.uid} gid {creds.gid} failed: {exc}"]) from exc
    _verify(spec, creds)
    env["HOME"] = creds.home


def _verify(spec: str, creds: Credentials) -> None:
    """Refuse to continue unless the switch is complete and irreversible."""
    if os.getresuid() != (creds.uid,) * 3 or os.getresgid() != (creds.gid,) * 3:
        raise _error(spec, ["the switch was incomplete (uid or gid still differ)"])
    if creds.uid == 0:
        return
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise _error(spec, ["root could be regained after switching (refusing to continue)"])


def _error(spec: str, problems: list[str]) -> PrivilegeError:
    if len(problems) == 1:
        return PrivilegeError(f"--user {spec}: {problems[0]}")
    return PrivilegeError("\n".join([f"--user {spec}:", *(f"  {p}" for p in problems)]))
