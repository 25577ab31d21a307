"""Reading candle files: CSV with header ``ts,open,high,low,close,volume`` (gzip or not), ``ts`` = candle open time
(ISO-8601 UTC, or epoch milliseconds), named ``<SYMBOL>-<interval>.csv[.gz]`` (the format of
/work/shared/data/candles). Values are read as exact decimals from their text."""

import csv
import gzip
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

FILE_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[mhdw])\.csv(\.gz)?$")
HEADER = ["ts", "open", "high", "low", "close", "volume"]


class CandleFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CandleRow:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @property
    def open_time(self) -> datetime:
        return datetime.fromtimestamp(self.open_ms / 1000, UTC)


@dataclass(frozen=True)
class CandleFile:
    path: Path
    symbol: str
    interval: str


def parse_ts_ms(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def candle_files(path: Path | str, *, interval: str | None = "1m") -> list[CandleFile]:
    """The candle files at ``path`` (a file or a directory), optionally only those of one interval."""
    path = Path(path)
    paths = sorted(path.iterdir()) if path.is_dir() else [path]
    found = []
    for p in paths:
        m = FILE_NAME.match(p.name)
        if m and p.is_file() and (interval is None or m["interval"] == interval):
            found.append(CandleFile(path=p, symbol=m["symbol"], interval=m["interval"]))
    return found


def open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def iter_rows(path: Path, *, start_ms: int | None = None, end_ms: int | None = None):
    """CandleRows of a file in order, optionally only ``start_ms <= open < end_ms``. Raises CandleFileError on a
    malformed line (with its line number)."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != HEADER:
            raise CandleFileError(f"{path}: expected header {','.join(HEADER)}, got {header}")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                ts = parse_ts_ms(row[0])
                if (start_ms is not None and ts < start_ms) or (end_ms is not None and ts >= end_ms):
                    continue
                o, h, l, c, v = (Decimal(x) for x in row[1:6])  # noqa: E741
            except (ValueError, InvalidOperation, IndexError) as exc:
                raise CandleFileError(f"{path}:{lineno}: cannot read {row!r}: {exc}") from exc
            if not (h >= max(o, c) and l <= min(o, c) and l > 0 and v >= 0):
                raise CandleFileError(f"{path}:{lineno}: inconsistent candle {row!r}")
            yield CandleRow(ts, o, h, l, c, v)
