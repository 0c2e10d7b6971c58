"""Where a batch is read from and written to: plain paths and fsspec URLs (s3://, gs://, file://).

One place says which protocol needs which extra (`validate` and the tasks give the same
advice), what identifies an object's content without reading it (ETag, size, mtime: the
cache key and the lineage), and which errors from a cloud store can go away on a retry.

Credentials and endpoints are never in the URL: fsspec's filesystems read them the way
their SDKs do (for S3: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and
~/.aws/config, AWS_ENDPOINT_URL_S3 for a non-AWS server; fsspec's own FSSPEC_S3_* variables
and ~/.config/fsspec/ too). See config/README.md, "Data on S3 and other stores".
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_PARAMETERS = ("source", "target")
"""Flow parameters holding a path or URL: `validate` and a trigger's overrides check that this
install can open them."""
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_PROTOCOLS = frozenset({"file", "local"})

EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"),
    "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"),
    "gcs": ("gcs", "gcsfs"),
}
"""protocol -> (this package's extra, the module that extra installs)."""


def protocol(location: str) -> str | None:
    """The URL's protocol (`s3`, `gs`, `file`, ...), lower-cased; None for a plain path."""
    match = _URL_RE.match(location)
    return match.group(1).lower() if match else None


def local_path(location: str) -> Path | None:
    """The local filesystem path of a plain path or a `file://` URL; None for anything else."""
    proto = protocol(location)
    if proto is None:
        return Path(location).expanduser()
    if proto in _LOCAL_PROTOCOLS:
        return Path(location.split("://", 1)[1]).expanduser()
    return None


def missing_support(location: str) -> str | None:
    """Why this process cannot open `location`, as advice for the operator; None if it can.

    A cloud protocol whose filesystem package is not importable names this package's extra
    (`s3:// needs the s3 extra: pip install 'aiwf-console[s3]'`); a protocol fsspec does
    not know says so.
    """
    proto = protocol(location)
    if proto is None or proto in _LOCAL_PROTOCOLS:
        return None
    if proto in EXTRAS:
        extra, module = EXTRAS[proto]
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{proto}:// needs the {extra} extra: pip install 'aiwf-console[{extra}]'"
        return None
    from fsspec.registry import known_implementations, registry

    if proto not in known_implementations and proto not in registry:
        return (
            f"unknown storage protocol {proto}://; use a plain path, file://, s3:// or gs:// "
            "(or another protocol fsspec knows)"
        )
    try:
        from fsspec.registry import get_filesystem_class

        get_filesystem_class(proto)
    except ImportError as exc:
        return f"{proto}:// needs a package that is not installed: {exc}"
    return None


def filesystem(location: str) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for `location`.

    Raises:
        ImportError: the protocol's package is missing; the message names the extra.
    """
    import fsspec

    problem = missing_support(location)
    if problem is not None:
        raise ImportError(f"cannot open {location}: {problem}")
    fs, path = fsspec.core.url_to_fs(location)
    return fs, path


@dataclass(frozen=True)
class ObjectIdentity:
    """What says an object's content changed, read from the store's listing (no download)."""

    size: int | None
    etag: str | None
    """S3's ETag, GCS's md5/generation: changes whenever the bytes do."""
    modified: str | None
    version_id: str | None = None


def remote_identity(location: str) -> ObjectIdentity:
    """The remote object's size, ETag and modification time, asked of the store afresh.

    Raises:
        OSError: the object does not exist (FileNotFoundError) or cannot be reached.
        ImportError: the protocol's package is missing.
    """
    fs, path = filesystem(location)
    fs.invalidate_cache(path)
    info = fs.info(path)
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("generation")
    modified = info.get("LastModified") or info.get("mtime") or info.get("updated")
    version = info.get("VersionId") or info.get("generation")
    size = info.get("size")
    return ObjectIdentity(
        size=int(size) if size is not None else None,
        etag=str(etag).strip('"') if etag else None,
        modified=str(modified) if modified is not None else None,
        version_id=str(version) if version else None,
    )


def is_transient_remote_error(exc: BaseException) -> bool | None:
    """Whether a cloud store's error may go away on a retry; None if `exc` is not one.

    The HTTP status decides when the SDK's error is in the chain (s3fs raises
    FileNotFoundError, PermissionError or OSError from botocore's ClientError): 5xx and 429
    are transient, other 4xx are answers. Then the SDK's own connection and timeout errors
    are transient, missing credentials are not.
    """
    for link in _chain(exc):
        status = _http_status(link)
        if status is not None:
            return status >= 500 or status == 429
    for link in _chain(exc):
        verdict = _sdk_error_is_transient(link)
        if verdict is not None:
            return verdict
    return None


def _sdk_error_is_transient(exc: BaseException) -> bool | None:
    """botocore's and the HTTP clients' own errors (no HTTP status): a connection refused,
    closed or timed out is transient; missing credentials or a bad call are not."""
    module = type(exc).__module__
    if module.startswith("botocore"):
        from botocore.exceptions import ConnectionError as SdkConnectionError
        from botocore.exceptions import HTTPClientError

        # EndpointConnectionError, ConnectTimeoutError (ConnectionError), ConnectionClosedError,
        # ReadTimeoutError (HTTPClientError). NoCredentialsError, ProfileNotFound,
        # ParamValidationError and the like are neither, and no retry changes them.
        return isinstance(exc, (HTTPClientError, SdkConnectionError))
    if module.startswith(("aiohttp", "google", "requests", "urllib3")):
        names = {cls.__name__ for cls in type(exc).__mro__}
        transient = ("ClientConnectionError", "ServerDisconnectedError", "ConnectionError")
        return bool(names & {*transient, "TimeoutError", "ServerTimeoutError", "Timeout"})
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen and len(seen) < 10:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if isinstance(status, int) else None
    return None


def content_facts(location: str) -> dict[str, Any]:
    """Lineage's identity of an input: `size_bytes` and `sha256` of a local file (plain path
    or file://), `size_bytes` and `etag` of a remote object; None where it cannot be read."""
    from engine.lineage.record import file_sha256

    facts: dict[str, Any] = {"size_bytes": None, "sha256": None, "etag": None}
    path = local_path(location)
    try:
        if path is not None:
            facts["size_bytes"] = path.stat().st_size
            facts["sha256"] = file_sha256(path)
        else:
            identity = remote_identity(location)
            facts["size_bytes"], facts["etag"] = identity.size, identity.etag
    except Exception:
        pass  # a missing or unreachable input: the run's error already says why
    return facts
