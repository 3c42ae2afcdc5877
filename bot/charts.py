"""The /stats and /merchant charts drawn with Pillow: the ChartDrawer and CountChartDrawer ports."""

import io
import itertools
import logging
import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from handlers.ports import ChartLabels, CountChart, CountSeries, DayFigures, SeriesStyle

log = logging.getLogger(__name__)
CHART_SIZE = (900, 500)
PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM = 90, 70, 810, 400
TICKS = 5
MAX_DAY_LABELS = 15
BAR_COLOR = (66, 133, 244)
LINE_COLOR = (230, 110, 20)
AXIS_COLOR = (70, 70, 70)
GRID_COLOR = (228, 228, 228)
TEXT_COLOR = (33, 33, 33)
# The dashboard's series, in order: blue, green, orange, purple.
SERIES_COLORS = ((66, 133, 244), (52, 168, 83), (230, 110, 20), (142, 68, 173))
# Pillow's own font has Latin glyphs only; Chinese labels need one of these (the first found is used).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class PillowChartDrawer:
    """Bars of tickets filed per day and a line of median hours to landing; or daily counts; as a PNG."""

    def __init__(self, font_path: Path | None = None):
        self.font_path = font_path or next((Path(p) for p in CJK_FONTS if Path(p).is_file()), None)
        self._warned = False

    def draw(self, per_day: Sequence[DayFigures], labels: ChartLabels) -> bytes:
        """A PNG: tickets filed per day as bars, median hours to landing as a line on a second scale."""
        self._warn_once_without_cjk_font(vars(labels).values())
        image = Image.new("RGB", CHART_SIZE, "white")
        draw = ImageDraw.Draw(image)
        counts = [count for _, count, _ in per_day]
        hours = [_hours(median) for _, _, median in per_day]
        count_step = _nice_step(max(counts, default=0), smallest=1)
        hours_step = _nice_step(max((h for h in hours if h is not None), default=0), smallest=0.1)
        draw.text((CHART_SIZE[0] / 2, 30), labels.title, font=self._font(22), fill=TEXT_COLOR, anchor="mm")
        self._draw_scales(draw, count_step, hours_step)
        slots = _slot_centers(len(per_day))
        self._draw_bars(draw, slots, counts, count_step * TICKS)
        _draw_landing_line(draw, slots, hours, hours_step * TICKS)
        self._draw_day_labels(draw, slots, [day for day, _, _ in per_day])
        self._draw_axis_titles(image, labels)
        self._draw_legend(draw, labels)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def _font(self, size: int) -> Font:
        if self.font_path is not None:
            return ImageFont.truetype(str(self.font_path), size)
        return ImageFont.load_default(size=size)

    def draw_counts(self, chart: CountChart) -> bytes:
        """A PNG: each series per day, as bars side by side or as a line, on one count scale."""
        self._warn_once_without_cjk_font([chart.title, chart.count_axis, *(s.legend for s in chart.series)])
        if any(len(series.counts) != len(chart.days) for series in chart.series):
            raise ValueError("every series needs one count per day of the chart")
        image = Image.new("RGB", CHART_SIZE, "white")
        draw = ImageDraw.Draw(image)
        step = _nice_step(max((c for series in chart.series for c in series.counts), default=0), smallest=1)
        draw.text((CHART_SIZE[0] / 2, 30), chart.title, font=self._font(22), fill=TEXT_COLOR, anchor="mm")
        self._draw_count_scale(draw, step)
        slots = _slot_centers(len(chart.days))
        colored = list(zip(chart.series, itertools.cycle(SERIES_COLORS)))
        bars = [(series, color) for series, color in colored if series.style is SeriesStyle.BARS]
        for place, (series, color) in enumerate(bars):
            self._draw_bar_group_member(draw, slots, series.counts, step * TICKS, color, place, len(bars))
        for series, color in colored:
            if series.style is SeriesStyle.LINE:
                _draw_count_line(draw, slots, series.counts, step * TICKS, color)
        self._draw_day_labels(draw, slots, list(chart.days))
        axis_center = (30, (PLOT_TOP + PLOT_BOTTOM) / 2)
        _paste_rotated_text(image, chart.count_axis, self._font(14), TEXT_COLOR, center=axis_center, angle=90)
        self._draw_series_legend(draw, colored)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def _warn_once_without_cjk_font(self, texts: Iterable[str]) -> None:
        cjk = any(_is_cjk(text) for text in texts)
        if cjk and self.font_path is None and not self._warned:
            log.warning("no CJK font found (%s): Chinese chart labels show as boxes", ", ".join(CJK_FONTS))
            self._warned = True

    def _draw_scales(self, draw: ImageDraw.ImageDraw, count_step: float, hours_step: float) -> None:
        font = self._font(13)
        for tick in range(TICKS + 1):
            y = _y_of(tick, TICKS)
            if tick:
                draw.line([(PLOT_LEFT, y), (PLOT_RIGHT, y)], fill=GRID_COLOR)
            draw.text((PLOT_LEFT - 8, y), _tick_label(count_step * tick), font=font, fill=BAR_COLOR,
                      anchor="rm")
            draw.text((PLOT_RIGHT + 8, y), _tick_label(round(hours_step * tick, 6)), font=font,
                      fill=LINE_COLOR, anchor="lm")
        draw.line([(PLOT_LEFT, PLOT_TOP), (PLOT_LEFT, PLOT_BOTTOM), (PLOT_RIGHT, PLOT_BOTTOM),
                   (PLOT_RIGHT, PLOT_TOP)], fill=AXIS_COLOR, width=1)

    def _draw_bars(self, draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]], counts: list[int],
                   top_value: float) -> None:
        font = self._font(12)
        for (x, width), count in zip(slots, counts, strict=True):
            if not count:
                continue
            half = min(width * 0.3, 30)
            top = _y_of(count, top_value)
            draw.rectangle([(x - half, top), (x + half, PLOT_BOTTOM - 1)], fill=BAR_COLOR)
            if width >= 22:
                draw.text((x, top - 4), str(count), font=font, fill=TEXT_COLOR, anchor="mb")

    def _draw_count_scale(self, draw: ImageDraw.ImageDraw, step: float) -> None:
        font = self._font(13)
        for tick in range(TICKS + 1):
            y = _y_of(tick, TICKS)
            if tick:
                draw.line([(PLOT_LEFT, y), (PLOT_RIGHT, y)], fill=GRID_COLOR)
            draw.text((PLOT_LEFT - 8, y), _tick_label(step * tick), font=font, fill=TEXT_COLOR, anchor="rm")
        draw.line([(PLOT_LEFT, PLOT_TOP), (PLOT_LEFT, PLOT_BOTTOM), (PLOT_RIGHT, PLOT_BOTTOM)],
                  fill=AXIS_COLOR, width=1)

    def _draw_bar_group_member(self, draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]],
                               counts: Sequence[int], top_value: float, color: tuple[int, int, int],
                               place: int, members: int) -> None:
        """One bar series of a group standing side by side in each slot (`place` of `members`)."""
        font = self._font(11)
        for (x, width), count in zip(slots, counts, strict=True):
            if not count:
                continue
            bar = min(width * 0.7, 60) / members
            left = x - bar * members / 2 + bar * place
            top = _y_of(count, top_value)
            draw.rectangle([(left + 1, top), (left + bar - 1, PLOT_BOTTOM - 1)], fill=color)
            if bar >= 14:
                draw.text((left + bar / 2, top - 3), str(count), font=font, fill=TEXT_COLOR, anchor="mb")

    def _draw_series_legend(self, draw: ImageDraw.ImageDraw,
                            colored: Sequence[tuple[CountSeries, tuple[int, int, int]]]) -> None:
        font = self._font(13)
        y, swatch, gap = CHART_SIZE[1] - 40, 24, 30
        widths = [draw.textlength(series.legend, font=font) for series, _ in colored]
        x = (CHART_SIZE[0] - sum(swatch + 6 + width for width in widths) - gap * (len(colored) - 1)) / 2
        for (series, color), width in zip(colored, widths, strict=True):
            if series.style is SeriesStyle.LINE:
                draw.line([(x, y), (x + swatch, y)], fill=color, width=3)
                draw.ellipse([(x + 8, y - 4), (x + 16, y + 4)], fill=color)
            else:
                draw.rectangle([(x + 5, y - 7), (x + 19, y + 7)], fill=color)
            draw.text((x + swatch + 6, y), series.legend, font=font, fill=TEXT_COLOR, anchor="lm")
            x += swatch + 6 + width + gap

    def _draw_day_labels(self, draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]],
                         days: list[date]) -> None:
        font = self._font(12)
        every = math.ceil(len(days) / MAX_DAY_LABELS) or 1
        for index, ((x, _), day) in enumerate(zip(slots, days, strict=True)):
            # Counted from the last day, so today always has its label.
            if (len(days) - 1 - index) % every == 0:
                draw.line([(x, PLOT_BOTTOM), (x, PLOT_BOTTOM + 4)], fill=AXIS_COLOR)
                draw.text((x, PLOT_BOTTOM + 8), f"{day:%m-%d}", font=font, fill=TEXT_COLOR, anchor="mt")

    def _draw_axis_titles(self, image: Image.Image, labels: ChartLabels) -> None:
        font = self._font(14)
        middle = (PLOT_TOP + PLOT_BOTTOM) / 2
        _paste_rotated_text(image, labels.count_axis, font, BAR_COLOR, center=(30, middle), angle=90)
        right_middle = (CHART_SIZE[0] - 30, middle)
        _paste_rotated_text(image, labels.landing_axis, font, LINE_COLOR, center=right_middle, angle=270)

    def _draw_legend(self, draw: ImageDraw.ImageDraw, labels: ChartLabels) -> None:
        font = self._font(13)
        y = CHART_SIZE[1] - 40
        bar_text, line_text = labels.count_legend, labels.landing_legend
        bar_width = draw.textlength(bar_text, font=font)
        line_width = draw.textlength(line_text, font=font)
        x = (CHART_SIZE[0] - (14 + 6 + bar_width + 30 + 24 + 6 + line_width)) / 2
        draw.rectangle([(x, y - 7), (x + 14, y + 7)], fill=BAR_COLOR)
        draw.text((x + 20, y), bar_text, font=font, fill=TEXT_COLOR, anchor="lm")
        x += 20 + bar_width + 30
        draw.line([(x, y), (x + 24, y)], fill=LINE_COLOR, width=3)
        draw.ellipse([(x + 8, y - 4), (x + 16, y + 4)], fill=LINE_COLOR)
        draw.text((x + 30, y), line_text, font=font, fill=TEXT_COLOR, anchor="lm")


def _is_cjk(text: str) -> bool:
    return any("\u2e80" <= character <= "\u9fff" or "\uff00" <= character <= "\uffef" for character in text)


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() / 3600


def _nice_step(maximum: float, *, smallest: float) -> float:
    """The smallest 1-2-5 step (at least `smallest`) whose TICKS steps cover `maximum`."""
    step, factors = smallest, (2, 2.5, 2)
    index = 0
    while step * TICKS < maximum:
        step = round(step * factors[index % 3], 6)
        index += 1
    return step


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _y_of(value: float, top_value: float) -> float:
    return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * (value / top_value if top_value else 0)


def _slot_centers(count: int) -> list[tuple[float, float]]:
    """(x of the centre, slot width) for each day."""
    width = (PLOT_RIGHT - PLOT_LEFT) / max(count, 1)
    return [(PLOT_LEFT + width * (index + 0.5), width) for index in range(count)]


def _draw_landing_line(draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]],
                       hours: list[float | None], top_value: float) -> None:
    points = [None if h is None else (x, _y_of(h, top_value)) for (x, _), h in zip(slots, hours, strict=True)]
    for start, end in itertools.pairwise(points):
        if start and end:
            draw.line([start, end], fill=LINE_COLOR, width=3)
    for point in points:
        if point:
            x, y = point
            draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=LINE_COLOR, outline="white")


def _draw_count_line(draw: ImageDraw.ImageDraw, slots: list[tuple[float, float]], counts: Sequence[int],
                     top_value: float, color: tuple[int, int, int]) -> None:
    points = [(x, _y_of(count, top_value)) for (x, _), count in zip(slots, counts, strict=True)]
    if len(points) > 1:
        draw.line(points, fill=color, width=3, joint="curve")
    for x, y in points:
        draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=color, outline="white")


def _paste_rotated_text(image: Image.Image, text: str, font: Font, color: tuple[int, int, int], *,
                        center: tuple[float, float], angle: int) -> None:
    _, _, right, bottom = font.getbbox(text)
    label = Image.new("RGBA", (int(right) + 2, int(bottom) + 2), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((0, 0), text, font=font, fill=color)
    rotated = label.rotate(angle, expand=True)
    corner = (int(center[0] - rotated.width / 2), int(center[1] - rotated.height / 2))
    image.paste(rotated, corner, rotated)
