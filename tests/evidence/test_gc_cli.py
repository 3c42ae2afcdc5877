"""`refund-bot gc`: the daily clean-up of unused screenshots, run by hand, says what it removed."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from storage import schema
from storage.database import Database
from storage.tickets import record_evidence
from tests.evidence.conftest import file_ticket, image
from tests.evidence.stores import StoreUnderTest, s3_settings
from tests.test_cli import run


@pytest.mark.parametrize("kind", ["local", "s3"])
async def test_gc_removes_old_unused_screenshots_and_stray_files_and_says_so(tmp_path, kind, request):
    data_dir = tmp_path / "data"
    db = Database.connect(f"sqlite+aiosqlite:///{data_dir / 'refund-bot.sqlite3'}")
    await schema.upgrade(db.engine)
    env: dict[str, str] = {}
    if kind == "local":
        files = StoreUnderTest.local(data_dir / "evidence")
    else:
        endpoint, bucket = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket")
        files = StoreUnderTest.s3(endpoint, bucket)
        env = {name.upper(): value for name, value in s3_settings(endpoint, bucket).items()}
    old = datetime.now(UTC) - timedelta(days=8)
    abandoned, filed, stray = [await files.store.save(image("PNG", (9, 9), (n, 0, 0))) for n in (1, 2, 3)]
    for sha256 in (abandoned, filed, stray):
        files.age(sha256, old)
    async with db.transaction() as session:
        for sha256 in (abandoned, filed):
            await record_evidence(session, sha256=sha256, mime_type="image/png", size=77, uploaded_by=1001,
                                  now=old)
    await file_ticket(db, filed)
    await db.dispose()

    result = run(tmp_path, "gc", env=env)

    assert result.returncode == 0, result.stderr
    assert f"removed screenshot {abandoned} (77 bytes, sent by user 1001)" in result.stdout
    assert f"removed file without an evidence row {stray}" in result.stdout
    assert "removed 1 unused screenshot(s), 1 file(s) without a row" in result.stdout
    assert filed not in result.stdout
    assert files.hashes() == [filed]
    again = run(tmp_path, "gc", env={**env, "EVIDENCE_RETENTION": "off"})
    assert again.returncode == 0 and "every screenshot is kept" in again.stdout



def test_the_evidence_settings_have_defaults():
    settings = load_settings(bot_token="1:x")
    assert (settings.evidence_retention, settings.evidence_quota_mb) == (timedelta(days=7), 50)


@pytest.mark.parametrize("bad", [{"evidence_retention": "a week"}, {"evidence_quota_mb": 0}])
def test_bad_evidence_settings_are_refused_at_start_up(bad):
    with pytest.raises(ConfigError, match=f"(?i){next(iter(bad))}"):
        load_settings(bot_token="1:x", **bad)
