"""The evidence store in an S3-compatible bucket, so that several hosts share the screenshots.

boto3 runs in a small thread pool of its own: it is the reference client, and a screenshot costs one
request, so an async client (aiobotocore, which pins exact botocore versions) would buy little.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.config import Settings
from handlers.ports import EvidenceUnavailable
from storage.evidence_files import SHA256_NAME

log = logging.getLogger(__name__)
Result = TypeVar("Result")
THREADS = 8  # requests in flight at once (and connections kept open)
MISSING = {"404", "NoSuchKey", "NotFound"}


class S3EvidenceStore:
    """Bytes stored once under S3_PREFIX + the first two hex digits + / + their SHA-256, as on disk.

    An object's LastModified plays the file's mtime: saving the same bytes again writes them again (one
    atomic PUT), which refreshes it, so the clean-up spares bytes received again within the retention.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "evidence/"):
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="evidence-s3")

    @classmethod
    def from_settings(cls, settings: Settings) -> "S3EvidenceStore":
        """The store of EVIDENCE_STORE=s3; credentials from the standard AWS sources (AWS_* variables)."""
        config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"},
                        max_pool_connections=THREADS)
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url or None, region_name=settings.s3_region or None,
            config=config,
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    def key_of(self, sha256: str) -> str:
        """The object key of the bytes with this hash."""
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    async def save(self, data: bytes) -> str:
        """Store the bytes (a PUT of the same bytes only refreshes the object) and return their SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        await self._call(lambda: self.client.put_object(
            Bucket=self.bucket, Key=self.key_of(sha256), Body=data, ContentType="application/octet-stream",
        ))
        return sha256

    async def load(self, sha256: str) -> bytes:
        """The stored bytes; FileNotFoundError if there are none."""
        def get() -> bytes:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_of(sha256))["Body"]
            with body:
                return bytes(body.read())
        return await self._call(get, missing=sha256)

    async def delete(self, sha256: str, *, unless_modified_after: datetime) -> int | None:
        """Remove the object unless saved again since then; its size, or None if kept or absent."""
        key = self.key_of(sha256)
        try:
            head = await self._call(lambda: self.client.head_object(Bucket=self.bucket, Key=key),
                                    missing=sha256)
        except FileNotFoundError:
            return None
        if head["LastModified"] >= unless_modified_after:
            return None
        await self._call(lambda: self.client.delete_object(Bucket=self.bucket, Key=key))
        return int(head["ContentLength"])

    async def hashes_older_than(self, moment: datetime) -> list[str]:
        """The hashes of objects under the prefix last saved before `moment`."""
        def scan() -> list[str]:
            found = []
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            ):
                for item in page.get("Contents", ()):
                    folder, _, name = item["Key"][len(self.prefix):].partition("/")
                    if SHA256_NAME.fullmatch(name) and folder == name[:2] and item["LastModified"] < moment:
                        found.append(name)
            return found
        return await self._call(scan)

    async def delete_abandoned_writes(self, *, older_than: datetime) -> int:
        """Nothing to do: a PUT is atomic, so an interrupted one leaves no object."""
        return 0

    async def check(self) -> None:
        """Raise EvidenceUnavailable unless the bucket can be reached with these credentials."""
        await self._call(lambda: self.client.head_bucket(Bucket=self.bucket))

    def close(self) -> None:
        """Let the threads go."""
        self._threads.shutdown(wait=False)

    async def _call(self, action: Callable[[], Result], *, missing: str | None = None) -> Result:
        """Run one boto3 call in the pool; a missing object is FileNotFoundError, any other failure
        EvidenceUnavailable naming the bucket."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, action)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if missing is not None and code in MISSING:
                raise FileNotFoundError(f"no {missing} in s3://{self.bucket}/{self.prefix}") from error
            raise EvidenceUnavailable(f"S3 bucket {self.bucket}: {code or error}") from error
        except BotoCoreError as error:  # no connection, timeouts, no credentials
            raise EvidenceUnavailable(f"S3 bucket {self.bucket}: {error}") from error
