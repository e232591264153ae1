"""Is a data directory on a mounted volume? Real mounts in a namespace, and mountinfo parsing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import envconf
from envconf.tools.volumes import data_dir_findings, mount_points, on_volume

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
36 27 98:0 /mnt1 {base}/with\040space rw,noatime master:1 - ext3 /dev/root rw
37 27 98:0 /mnt2 {base}/tab\011and\134backslash rw - ext3 /dev/root rw
38 27 254:16 / {base}/plain rw - ext4 /dev/vdb rw
39 27 0:44 / {base}/memory rw - tmpfs tmpfs rw
"""


@pytest.fixture
def mountinfo(tmp_path: Path) -> str:
    path = tmp_path / "mountinfo"
    path.write_text(MOUNTINFO.format(base=tmp_path))
    return str(path)


def same_device_as_root(path: Path) -> bool:
    return os.stat(path).st_dev == os.stat("/").st_dev


def test_mount_points_decode_octal_escapes(mountinfo: str, tmp_path: Path) -> None:
    assert mount_points(mountinfo) == [
        "/proc",
        "/",
        f"{tmp_path}/with space",
        f"{tmp_path}/tab\tand\\backslash",
        f"{tmp_path}/plain",
        f"{tmp_path}/memory",
    ]


def test_an_unreadable_mountinfo_lists_nothing(tmp_path: Path) -> None:
    assert mount_points(str(tmp_path / "absent")) == []


def test_a_path_at_or_below_a_listed_mount_point_is_on_a_volume(
    mountinfo: str, tmp_path: Path
) -> None:
    (tmp_path / "with space" / "deeper").mkdir(parents=True)
    (tmp_path / "tab\tand\\backslash").mkdir()
    assert on_volume(tmp_path / "with space", mountinfo)
    assert on_volume(tmp_path / "with space" / "deeper", mountinfo)
    assert on_volume(tmp_path / "tab\tand\\backslash", mountinfo)


def test_a_path_beside_a_mount_point_is_not_on_a_volume(mountinfo: str, tmp_path: Path) -> None:
    if not same_device_as_root(tmp_path):
        pytest.skip(f"{tmp_path} is itself on a separate filesystem")
    (tmp_path / "plainly").mkdir()
    assert not on_volume(tmp_path / "plainly", mountinfo)


def test_an_in_memory_mount_is_not_a_volume(mountinfo: str, tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    assert not on_volume(tmp_path / "memory", mountinfo)


def test_a_missing_path_is_not_on_a_volume(mountinfo: str, tmp_path: Path) -> None:
    assert not on_volume(tmp_path / "plain" / "missing", mountinfo)


PROBE = """
import sys
from envconf.tools.volumes import on_volume
mounted, beside, memory = sys.argv[1:]
print(on_volume(mounted), on_volume(mounted + "/sub"), on_volume(beside), on_volume(memory))
"""


def test_a_real_bind_mount_is_a_volume_and_a_tmpfs_is_not(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare is not installed")
    if not same_device_as_root(tmp_path):
        pytest.skip(f"{tmp_path} is itself on a separate filesystem")
    mounted, beside = tmp_path / "data", tmp_path / "beside"
    source, memory = tmp_path / "volume-source", tmp_path / "memory"
    for directory in (mounted, beside, source, memory):
        directory.mkdir()
    # A Docker named volume is a bind mount of a host directory: same device, listed in
    # mountinfo. A tmpfs is a mount too, but it dies with the container.
    script = (
        'mount --bind "$5" "$1" && mkdir "$1/sub" && mount -t tmpfs envconf-test "$6"'
        ' && exec "$2" -c "$3" "$1" "$4" "$6"'
    )
    flags = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        flags.append("--map-root-user")
    result = subprocess.run(
        [
            unshare,
            *flags,
            "sh",
            "-c",
            script,
            "sh",
            str(mounted),
            sys.executable,
            PROBE,
            str(beside),
            str(source),
            str(memory),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a mount namespace here: {result.stderr.strip()}")
    assert result.stdout.split() == ["True", "True", "False", "False"]


class Store(BaseModel):
    cache: envconf.DataDir | None = None


class WithData(envconf.Settings):
    model_config = envconf.SettingsConfigDict(
        env_prefix="D_", env_nested_delimiter="__", secrets_dir=None
    )

    data: envconf.DataDir
    spare: envconf.DataDir | None = None
    store: Store = Store()


def test_data_dir_findings_name_every_data_dir_not_on_a_volume(
    mountinfo: str, tmp_path: Path
) -> None:
    if not same_device_as_root(tmp_path):
        pytest.skip(f"{tmp_path} is itself on a separate filesystem")
    for name in ("data", "spare", "plain"):
        (tmp_path / name).mkdir()
    settings = WithData.load(
        env={
            "D_DATA": str(tmp_path / "data"),
            "D_SPARE": str(tmp_path / "spare"),
            "D_STORE__CACHE": str(tmp_path / "plain"),
        }
    )
    findings = data_dir_findings(settings, mountinfo)
    assert [f.split(":")[0] for f in findings] == ["data", "spare"]
    assert "is not on a mounted volume" in findings[0]


def test_a_data_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(envconf.ConfigError, match="does not exist"):
        WithData.load(env={"D_DATA": str(tmp_path / "absent")})
