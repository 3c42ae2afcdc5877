"""The evidence stores under test: the local folder, and an S3 bucket on a moto server the tests start."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from bot.evidence_s3 import S3EvidenceStore
from handlers.ports import EvidenceStore
from storage.evidence_files import EvidenceFiles

REGION = "us-east-1"
PREFIX = "evidence/"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto) over HTTP on a free local port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch) -> str:
    """A fresh private bucket; the AWS_* variables hold the credentials the bot reads."""
    for name, value in TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"evidence-{uuid.uuid4().hex[:16]}"
    raw_client(s3_endpoint).create_bucket(Bucket=bucket)
    return bucket


def raw_client(endpoint: str, *, attempts: int = 3):
    """A boto3 client of the test server, for looking behind the store."""
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": attempts, "mode": "standard"}))


def s3_settings(endpoint: str, bucket: str) -> dict[str, str]:
    """The settings of EVIDENCE_STORE=s3 on the test server."""
    return {"evidence_store": "s3", "s3_bucket": bucket, "s3_endpoint_url": endpoint, "s3_region": REGION,
            "s3_prefix": PREFIX}


class StoreUnderTest:
    """An evidence store, and what the tests need to look behind it (what is stored, its age, its size)."""

    def __init__(self, store: EvidenceStore, *, root: Path | None = None, endpoint: str = "",
                 bucket: str = ""):
        self.store, self.root, self.endpoint, self.bucket = store, root, endpoint, bucket

    @classmethod
    def local(cls, root: Path) -> "StoreUnderTest":
        return cls(EvidenceFiles(root), root=root)

    @classmethod
    def s3(cls, endpoint: str, bucket: str) -> "StoreUnderTest":
        store = S3EvidenceStore(raw_client(endpoint), bucket, PREFIX)
        return cls(store, endpoint=endpoint, bucket=bucket)

    @property
    def kind(self) -> str:
        return "local" if self.root is not None else "s3"

    def hashes(self) -> list[str]:
        """The hashes stored, looked up behind the store's back."""
        if self.root is not None:
            return sorted(path.name for path in self.root.glob("*/*") if not path.name.startswith("."))
        listed = raw_client(self.endpoint).list_objects_v2(Bucket=self.bucket, Prefix=PREFIX)
        return sorted(item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", ()))

    def keys(self) -> list[str]:
        """The object keys in the bucket (S3 only)."""
        listed = raw_client(self.endpoint).list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", ()))

    def size(self, sha256: str) -> int:
        if self.root is not None:
            return (self.root / sha256[:2] / sha256).stat().st_size
        head = raw_client(self.endpoint).head_object(Bucket=self.bucket, Key=key(sha256))
        return int(head["ContentLength"])

    def age(self, sha256: str, at: datetime) -> None:
        """Make the bytes look last saved at `at` (a file's mtime; the test server's LastModified)."""
        if self.root is not None:
            os.utime(self.root / sha256[:2] / sha256, (at.timestamp(), at.timestamp()))
            return
        stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[self.bucket].keys.get(key(sha256))
        stored.last_modified = at.astimezone(UTC).replace(tzinfo=None)


def key(sha256: str) -> str:
    return f"{PREFIX}{sha256[:2]}/{sha256}"
