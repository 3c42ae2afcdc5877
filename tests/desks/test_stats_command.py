"""/stats: caption and chart words in the support group's language; the chart from the drawer port."""

import pytest

from handlers.events import EventKind, Photo
from handlers.ports import ChartLabels
from tests.conftest import make_sqlite
from tests.desks.support_group import ALICE, GROUP, NOW, Clock, event, file_ticket_with_card, support_desk
from tests.lifecycle.conftest import make_policy


class Charts:
    """The ChartDrawer port: remembers what it was asked to draw."""

    def __init__(self):
        self.drawn: list[tuple[list, ChartLabels]] = []

    def draw(self, per_day, labels: ChartLabels) -> bytes:
        self.drawn.append((list(per_day), labels))
        return b"chart"


@pytest.fixture
async def db(tmp_path):
    database = await make_sqlite(tmp_path)
    yield database
    await database.dispose()


async def stats(db, locale: str, charts: Charts) -> Photo:
    desk = support_desk(db, Clock(NOW), make_policy(), locale=locale, charts=charts)
    [photo] = await desk.handle(event(ALICE, GROUP, EventKind.COMMAND, text="/stats 3", command="stats",
                                      args="3"))
    assert isinstance(photo, Photo)
    return photo


async def test_stats_in_english(db):
    await file_ticket_with_card(db)
    charts = Charts()
    photo = await stats(db, "en", charts)
    assert photo.data == b"chart"
    assert photo.caption.splitlines()[:2] == [
        "Duplicate-charge tickets, last 3 days (2026-11-24 – 2026-11-26)",
        "Filed: 1 · confirmed duplicates: 1 · refunds landed: 0",
    ]
    [(per_day, labels)] = charts.drawn
    assert [count for _, count, _ in per_day] == [0, 0, 1]
    assert labels == ChartLabels("Duplicate-charge tickets, last 3 days", "Tickets filed",
                                 "Median hours to landing", "Tickets filed per day",
                                 "Median hours to landing")


async def test_stats_in_chinese(db):
    await file_ticket_with_card(db)
    charts = Charts()
    photo = await stats(db, "zh", charts)
    assert photo.caption.splitlines()[:2] == [
        "重复扣款工单，最近 3 天（2026-11-24 – 2026-11-26）",
        "已提交：1 · 确认重复：1 · 退款已到账：0",
    ]
    [(_, labels)] = charts.drawn
    assert labels == ChartLabels("重复扣款工单，最近 3 天", "提交工单数", "退款到账时长中位数（小时）",
                                 "每日提交工单数", "退款到账时长中位数（小时）")
