"""Files in an S3-compatible object store (AWS S3, SeaweedFS, MinIO), behind the same contract as
:class:`judging.storage.LocalStorage`, so that several hosts serve the same files.

What is written stays on local disk until it is complete and checked: staging, the files being prepared
(thumbnails, blind copies) and the publication markers live in a local scratch folder managed by a
:class:`LocalStorage` (same sweep, same claims, same markers). :meth:`S3Storage.publish` uploads the staged
files to their keys (after writing the marker, as on disk) and keeps each as the local copy of its key:
reading a file (:meth:`S3Storage.path`) downloads it once into ``cache/`` beside the scratch folder. Keys
are random and never reused, so a cached copy never goes stale; :meth:`S3Storage.delete` drops it.

Resumable uploads (:class:`judging.storage.PartsStore`) are S3 multipart uploads under ``uploads/``:
the browser PUTs each part to a presigned URL, straight to the store; the app never carries the bytes.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from judging.storage import (
    PUBLISH_PREFIX,
    LocalStorage,
    Publication,
    StagedFile,
    StoredFile,
    StoredPart,
    _ScratchOwner,
    _sync_directory,
)

FILES_PREFIX = "files/"
UPLOADS_PREFIX = "uploads/"
MIN_PART_SIZE = 5 * 1024 * 1024
"""S3 refuses to complete a multipart upload whose parts (but the last) are smaller."""
PART_URL_SECONDS = 6 * 3600


def client_from_config(config: Mapping[str, Any]) -> Any:
    """A boto3 S3 client for the configured endpoint (path-style addressing: SeaweedFS, MinIO); one per
    process and endpoint (making one reads botocore's service model: tens of milliseconds), shared by
    threads as boto3 allows."""
    return _client(
        str(config.get("S3_ENDPOINT_URL") or ""),
        str(config.get("S3_ACCESS_KEY_ID") or ""),
        str(config.get("S3_SECRET_ACCESS_KEY") or ""),
        str(config.get("S3_REGION") or "us-east-1"),
    )


@functools.lru_cache(maxsize=16)
def _client(endpoint: str, key: str, secret: str, region: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        aws_access_key_id=key or None,
        aws_secret_access_key=secret or None,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


os.register_at_fork(after_in_child=_client.cache_clear)  # a gunicorn worker opens its own connections


class S3Storage:
    def __init__(
        self, client: Any, bucket: str, local_root: str | Path, *, public_client: Any = None, prefix: str = ""
    ):
        self.client = client
        self.files_prefix = prefix + FILES_PREFIX
        self.uploads_prefix = prefix + UPLOADS_PREFIX
        self.public_client = public_client or client
        """Signs the part URLs handed to browsers (its endpoint is the one they reach)."""
        self.bucket = bucket
        self.local = LocalStorage(local_root)
        self.cache = Path(local_root) / "cache"

    # -- files under keys ---------------------------------------------------------------------------

    def _object(self, key: str) -> str:
        self.local.path(key)  # raises ValueError unless a key
        return self.files_prefix + key

    def path(self, key: str) -> Path:
        """The local copy of a key's file, downloaded once (keys never change content)."""
        target = self.cache / key[:2] / key
        name = self._object(key)
        if target.is_file():
            return target
        scratch = self.local.temporary_path()
        try:
            self.client.download_file(self.bucket, name, str(scratch))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch, target)
        except ClientError as error:
            if _status(error) == 404:
                raise FileNotFoundError(key) from None
            raise
        finally:
            scratch.unlink(missing_ok=True)
            _ScratchOwner.release_if_idle(scratch.parent)
        return target

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        (self.cache / key[:2] / key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        """Every stored key (backup, tests)."""
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.files_prefix):
            found += [item["Key"].removeprefix(self.files_prefix) for item in page.get("Contents", [])]
        return sorted(found)

    def restore_file(self, key: str, stream: IO[bytes]) -> int:
        staged = self.local.stage(stream)
        try:
            self.client.upload_file(str(staged.path), self.bucket, self._object(key))
        finally:
            self.local.discard([staged])
        return staged.size

    def save(self, stream: IO[bytes], *, limit: int | None = None) -> StoredFile:
        staged = self.local.stage(stream, limit=limit)
        try:
            self._upload(staged)
        finally:
            self.local.discard([staged])
        return StoredFile(key=staged.key, size=staged.size, sha256=staged.sha256)

    def save_path(self, source: str | Path) -> StoredFile:
        with open(source, "rb") as stream:
            return self.save(stream)

    def _upload(self, staged: StagedFile) -> None:
        self.client.upload_file(str(staged.path), self.bucket, self._object(staged.key))
        target = self.cache / staged.key[:2] / staged.key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)  # the local copy: no download for the thumbnail or the blind copy

    # -- staging and publication (local scratch, objects at publication) -----------------------------

    def stage(self, stream: IO[bytes], *, limit: int | None = None) -> StagedFile:
        return self.local.stage(stream, limit=limit)

    def temporary_path(self, suffix: str = "") -> Path:
        return self.local.temporary_path(suffix)

    def stage_prepared(self, path: Path) -> StagedFile:
        return self.local.stage_prepared(path)

    def discard(self, files: Iterable[StagedFile]) -> None:
        self.local.discard(files)

    def sweep_scratch(self) -> list[Path]:
        return self.local.sweep_scratch()

    def publish(
        self, files: Iterable[StagedFile], *, retiring: Iterable[str] = (), database: str, ticket: int
    ) -> Publication:
        """Upload staged files to their keys after writing the marker (see :meth:`LocalStorage.publish`);
        on a failure the objects already written are deleted and the marker goes."""
        files = list(files)
        keys = tuple(staged.key for staged in files)
        retiring = tuple(retiring)
        marker = self.local._scratch_file(PUBLISH_PREFIX.rstrip("-"))
        uploaded: list[str] = []
        try:
            with marker.open("w", encoding="ascii") as out:
                json.dump({"keys": keys, "retiring": retiring, "database": database, "ticket": ticket}, out)
                out.flush()
                os.fsync(out.fileno())
            _sync_directory(marker.parent)
            for staged in files:
                uploaded.append(staged.key)
                self._upload(staged)
        except BaseException:
            for key in uploaded:
                self.delete(key)
            marker.unlink(missing_ok=True)
            _ScratchOwner.release_if_idle(marker.parent)
            raise
        return Publication(marker=marker, keys=keys, retiring=retiring, database=database, ticket=ticket)

    def settle(self, publication: Publication) -> None:
        self.local.settle(publication)

    def withdraw(self, publication: Publication, keys: Iterable[str] | None = None) -> None:
        for key in publication.keys if keys is None else keys:
            if key in publication.listed:
                self.delete(key)
        self.settle(publication)

    def interrupted_publications(self) -> list[Publication]:
        return self.local.interrupted_publications()

    # -- resumable uploads: S3 multipart ------------------------------------------------------------

    min_part_size = MIN_PART_SIZE

    def begin_parts(self, token: str) -> str:
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.uploads_prefix + token)
        return str(answer["UploadId"])

    def part_url(self, token: str, reference: str, number: int) -> str | None:
        return str(
            self.public_client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self.bucket,
                    "Key": self.uploads_prefix + token,
                    "UploadId": reference,
                    "PartNumber": number,
                },
                ExpiresIn=PART_URL_SECONDS,
            )
        )

    def write_part(self, token: str, reference: str, number: int, stream: IO[bytes], limit: int) -> StoredPart:
        # Never reached: parts_uploads.write_part refuses a part sent to the app when part_url names the store.
        raise RuntimeError("the object store receives an upload's parts itself, through presigned URLs")

    def stored_parts(self, token: str, reference: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        try:
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=self.uploads_prefix + token, UploadId=reference
            )
            for page in pages:
                parts += [
                    StoredPart(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"])) for p in page.get("Parts", [])
                ]
        except ClientError as error:
            if _status(error) == 404:
                return []
            raise
        return sorted(parts)

    def join_parts(self, token: str, reference: str, parts: list[StoredPart]) -> None:
        """Complete the multipart upload: the store joins the parts into one object under the upload's key,
        and no byte passes through the app. Completing again (a retry after a lost answer) finds the object."""
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.uploads_prefix + token,
                UploadId=reference,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
            )
        except ClientError as error:
            if _status(error) != 404:
                raise
            self.client.head_object(Bucket=self.bucket, Key=self.uploads_prefix + token)  # joined before, or gone

    @contextmanager
    def assembled(self, token: str, reference: str, parts: list[StoredPart]) -> Iterator[IO[bytes]]:
        """The object :meth:`join_parts` made, read as a stream (by the verification job, not a request)."""
        body = self.client.get_object(Bucket=self.bucket, Key=self.uploads_prefix + token)["Body"]
        try:
            yield body
        finally:
            body.close()

    def abort_parts(self, token: str, reference: str) -> None:
        """Forget an upload: its parts, or the object they were joined into."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.uploads_prefix + token, UploadId=reference)
        except ClientError as error:
            if _status(error) != 404:
                raise
        self.client.delete_object(Bucket=self.bucket, Key=self.uploads_prefix + token)

    def unfinished_parts(self) -> list[tuple[str, str, datetime]]:
        """Every multipart upload still open in the store: (token, reference, started)."""
        found: list[tuple[str, str, datetime]] = []
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.uploads_prefix
        )
        for page in pages:
            for item in page.get("Uploads", []):
                found.append((item["Key"].removeprefix(self.uploads_prefix), item["UploadId"], item["Initiated"]))
        return found


def _status(error: ClientError) -> int:
    response: dict[str, Any] = dict(error.response)
    code = str(response.get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchKey", "NoSuchUpload", "NotFound"):
        return 404
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
