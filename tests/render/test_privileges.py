"""Tests for envconf.render.privileges: ``--user USER[:GROUP]`` like su-exec.

Resolving is tested in-process; every actual drop happens in a child interpreter,
since it cannot be undone.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from envconf.render.privileges import Credentials, PrivilegeError, resolve_user

SRC = str(Path(__import__("envconf").__file__).resolve().parents[1])

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")

# Runs drop_privileges(argv[1]) in a fresh interpreter and reports the result as JSON.
DROP = """
import json, os, sys
from envconf.errors import EnvconfError
from envconf.render.privileges import drop_privileges
env = {"HOME": "/root", "USER": "root", "PATH": "/bin"}
try:
    drop_privileges(sys.argv[1], env)
except EnvconfError as err:
    print(json.dumps({"error": err.format()}))
else:
    print(json.dumps({"uids": os.getresuid(), "gids": os.getresgid(),
                      "groups": sorted(os.getgroups()), "env": env}))
"""


def run_python(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a child interpreter and return the JSON it prints."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def user_with_supplementary_groups() -> tuple[pwd.struct_passwd, set[int]] | None:
    """Return a non-root passwd entry that /etc/group lists as a member, and its groups."""
    for group in grp.getgrall():
        for name in group.gr_mem:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            if entry.pw_uid != 0:
                return entry, {entry.pw_gid} | {
                    g.gr_gid for g in grp.getgrall() if name in g.gr_mem
                }
    return None


def test_numeric_uid_missing_from_passwd_gets_gid_equal_to_uid_and_home_root() -> None:
    assert resolve_user("10001") == Credentials(uid=10001, gid=10001, home="/", user=None)


def test_numeric_user_and_group() -> None:
    assert resolve_user("10001:10002") == Credentials(uid=10001, gid=10002, home="/")


def test_named_user_uses_passwd_ids_home_and_group_membership() -> None:
    entry = pwd.getpwuid(0)
    assert resolve_user(entry.pw_name) == Credentials(0, entry.pw_gid, entry.pw_dir, entry.pw_name)


def test_numeric_uid_in_passwd_is_that_user() -> None:
    entry = pwd.getpwnam("nobody")
    creds = resolve_user(str(entry.pw_uid))
    assert creds == Credentials(entry.pw_uid, entry.pw_gid, entry.pw_dir, "nobody")


def test_explicit_group_replaces_primary_and_supplementary_groups() -> None:
    entry = pwd.getpwnam("nobody")
    root_group = grp.getgrgid(0).gr_name
    assert resolve_user(f"nobody:{root_group}") == Credentials(entry.pw_uid, 0, entry.pw_dir)
    assert resolve_user("nobody:0") == Credentials(entry.pw_uid, 0, entry.pw_dir)


def test_empty_group_means_the_users_own_groups() -> None:
    entry = pwd.getpwnam("nobody")
    assert resolve_user("nobody:").user == "nobody"
    assert resolve_user("nobody:").gid == entry.pw_gid


def test_unknown_user_and_group_are_both_named() -> None:
    with pytest.raises(PrivilegeError) as info:
        resolve_user("no-such-user-xyz:no-such-group-xyz")
    message = str(info.value)
    assert "unknown user 'no-such-user-xyz'" in message
    assert "unknown group 'no-such-group-xyz'" in message
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no user given"),
        (":0", "no user given"),
        ("a:b:c", "more than one ':'"),
        ("4294967295", "out of range"),
        ("0:99999999999", "out of range"),
    ],
)
def test_malformed_specs_are_rejected(spec: str, problem: str) -> None:
    with pytest.raises(PrivilegeError, match=problem):
        resolve_user(spec)


@needs_root
def test_drop_to_numeric_ids_sets_ids_groups_and_home() -> None:
    report = run_python(DROP, "10001:10001")
    assert report["uids"] == [10001] * 3
    assert report["gids"] == [10001] * 3
    assert report["groups"] == [10001]
    # Like su-exec: HOME follows the user, USER and LOGNAME are left alone.
    assert report["env"] == {"HOME": "/", "USER": "root", "PATH": "/bin"}


@needs_root
def test_drop_to_numeric_uid_alone_does_not_keep_group_root() -> None:
    report = run_python(DROP, "10001")
    assert report["gids"] == [10001] * 3
    assert report["groups"] == [10001]


@needs_root
def test_drop_to_named_user_gets_its_supplementary_groups() -> None:
    found = user_with_supplementary_groups()
    if found is None:
        pytest.skip("no user in /etc/group has supplementary groups")
    entry, groups = found
    report = run_python(DROP, entry.pw_name)
    assert report["uids"] == [entry.pw_uid] * 3
    assert report["gids"] == [entry.pw_gid] * 3
    assert set(report["groups"]) == groups
    assert report["env"]["HOME"] == entry.pw_dir


@needs_root
def test_drop_with_explicit_group_has_only_that_group() -> None:
    found = user_with_supplementary_groups()
    if found is None:
        pytest.skip("no user in /etc/group has supplementary groups")
    entry, _ = found
    report = run_python(DROP, f"{entry.pw_name}:10002")
    assert report["uids"] == [entry.pw_uid] * 3
    assert report["gids"] == [10002] * 3
    assert report["groups"] == [10002]


@needs_root
def test_drop_to_unknown_user_changes_nothing() -> None:
    report = run_python(DROP, "no-such-user-xyz")
    assert report == {
        "error": "envconf: --user no-such-user-xyz: unknown user "
        "'no-such-user-xyz' (not in /etc/passwd)"
    }


@needs_root
def test_without_root_switching_to_someone_else_is_an_error() -> None:
    report = run_python(
        """
        import json, os
        from envconf.render.privileges import PrivilegeError, drop_privileges
        os.setgroups([10001]); os.setgid(10001); os.setuid(10001)
        env = {}
        drop_privileges("10001:10001", env)  # already that user: fine
        try:
            drop_privileges("0", env)
        except PrivilegeError as err:
            print(json.dumps({"error": str(err), "env": env}))
        """
    )
    assert "only root can switch users" in report["error"]
    assert "uid 10001" in report["error"]
    assert report["env"] == {"HOME": "/"}


@needs_root
def test_an_incomplete_switch_is_refused() -> None:
    # Simulate a setuid that leaves the saved uid at root (so root could be regained).
    report = run_python(
        """
        import json, os
        from envconf.render.privileges import PrivilegeError, drop_privileges
        os.setuid = lambda uid: os.setresuid(uid, uid, 0)
        try:
            drop_privileges("10001:10001", {})
        except PrivilegeError as err:
            print(json.dumps({"error": str(err)}))
        """
    )
    assert "incomplete" in report["error"]
