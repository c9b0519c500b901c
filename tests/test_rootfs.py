"""The cached root filesystems: each variant keeps its own tarball and removes only its
own stale ones (a cloud build never deletes the servers' tarball, nor the reverse)."""

import pytest
import rootfs


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CFD_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("variant", "stale", "kept"), [
    ("server", "debian-bookworm-000000000000.tar.zst",
     "debian-bookworm-cloud-000000000000.tar.zst"),
    ("cloud", "debian-bookworm-cloud-000000000000.tar.zst",
     "debian-bookworm-000000000000.tar.zst"),
])
def test_a_new_build_removes_its_own_stale_tarballs_alone(cache, monkeypatch, variant, stale,
                                                          kept):
    built = []
    monkeypatch.setattr(rootfs, "build", lambda tarball, v: (built.append(v),
                                                             tarball.write_bytes(b"")))
    for name in (stale, kept, "debian-bookworm-base-ct.tar.zst"):
        (cache / name).write_bytes(b"")
    tarball = rootfs.ensure_tarball(variant)
    assert built == [variant]
    assert sorted(path.name for path in cache.glob("*.tar.zst")) == sorted(
        [tarball.name, kept, "debian-bookworm-base-ct.tar.zst"])
    # Built once: the next caller takes it as it is.
    assert rootfs.ensure_tarball(variant) == tarball and built == [variant]


def test_the_variants_are_named_apart_and_by_what_goes_into_them(cache, monkeypatch):
    server, cloud = rootfs.tarball_path("server"), rootfs.tarball_path("cloud")
    assert server.name.startswith("debian-bookworm-") and "cloud" not in server.name
    assert cloud.name.startswith("debian-bookworm-cloud-")
    monkeypatch.setattr(rootfs, "CLOUD_CFG", rootfs.CLOUD_CFG + "locale: en_US.UTF-8\n")
    assert rootfs.tarball_path("cloud") != cloud
    assert rootfs.tarball_path("server") == server
