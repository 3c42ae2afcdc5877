"""Chinese numerals as people type them (九十九, 两千零五, 壹佰, 一万二), read exactly with cn2an."""

import re

import cn2an

DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5,
          "陆": 6, "柒": 7, "捌": 8, "玖": 9}
NUMERAL_CHARACTERS = "".join(DIGITS) + "十廿百千万亿拾佰仟"
MULTIPLIERS = {"万", "千"}
NUMERAL_RUN = re.compile(f"[{NUMERAL_CHARACTERS}]+")
DIGIT_RUN = re.compile(f"[{''.join(DIGITS)}]+")
# Traditional forms of the characters amounts and times use, folded to the simplified ones.
SIMPLIFIED = str.maketrans({
    "兩": "两", "點": "点", "塊": "块", "號": "号", "時": "时", "鐘": "钟", "頭": "头", "錢": "钱",
    "圓": "圆", "週": "周", "禮": "礼", "後": "后", "個": "个", "萬": "万", "億": "亿", "幣": "币",
    "剛": "刚", "這": "这", "貳": "贰", "參": "叁", "陸": "陆", "晩": "晚",
})


def chinese_integer(text: str) -> int:
    """A whole number written in Chinese numerals; ValueError when it is not one."""
    if not NUMERAL_RUN.fullmatch(text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    try:
        value = cn2an.cn2an(text, "normal")
    except Exception as error:  # cn2an answers some malformed numerals (一十零) with KeyError or IndexError
        raise ValueError(f"not a Chinese numeral: {text!r}") from error
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"not a whole number: {text!r}")
    return value


def _run_as_digits(match: re.Match[str], text: str) -> str:
    run = match.group()
    if run in MULTIPLIERS and match.start() > 0 and text[match.start() - 1].isdigit():
        return run  # 1.5万 and 3千 keep their multiplier for the reader that knows the context
    # After 点 a run of plain digits is read digit by digit: 一百点零五 is 100.05, 十点零五分 is 10:05.
    if match.start() > 0 and text[match.start() - 1] == "点" and DIGIT_RUN.fullmatch(run):
        return "".join(str(DIGITS[c]) for c in run)
    return str(chinese_integer(run))


def with_arabic_digits(text: str) -> str:
    """The text with every run of Chinese numerals written in Arabic digits; ValueError on a bad run."""
    simplified = text.translate(SIMPLIFIED)
    return NUMERAL_RUN.sub(lambda match: _run_as_digits(match, simplified), simplified)
