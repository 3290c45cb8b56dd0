"""Cell formatting for the exporter: the text of each value from its column's
DSS storage type, whether DSS hands strings or pandas' typed values.
"""
import datetime
import json
import struct

from sftp_client.errors import SftpClientError

_UTC = datetime.timezone.utc
_ZERO = datetime.timedelta(0)
_INT_TYPES = frozenset(("int", "bigint", "smallint", "tinyint"))
#: pandas' missing-value singletons (NaT, pandas.NA), known by type name so that
#: neither pandas nor numpy has to be imported.
_MISSING_TYPES = frozenset(("NaTType", "NAType"))
#: Significant digits that always tell two float32 values apart (FLT_DECIMAL_DIG).
_FLOAT32_DIGITS = 9
_PACK_F32 = struct.Struct("<f").pack
#: Distinct float32 values whose text an export remembers (a few MiB at most).
FLOAT32_CACHE = 65536


class _Never(object):
    """A type no cell value has: such columns always go through their formatter."""


#: The value type whose ``str()`` is already the cell's text, per DSS type
#: (others: str); booleans, dates and 32-bit floats (written as the shortest text
#: of their float32 value, not of the widened double) always need their formatter.
_PLAIN_TYPES = dict([(kind, int) for kind in _INT_TYPES] + [
    ("double", float), ("float", _Never), ("boolean", _Never), ("date", _Never),
    ("dateonly", _Never)])


def _compile_row(kinds, cells):
    """One function per schema formatting a whole row, each cell inline: ``v`` as
    it is when ``type(v) is kind`` (and, for floats, not NaN), else ``cell(v)``.
    Built from source once per export, as ``collections.namedtuple`` once was:
    a loop over the cells costs a third more per row."""
    if not cells:
        return lambda row: []
    scope, parts = {}, []
    for n, (kind, cell) in enumerate(zip(kinds, cells)):
        scope["k%d" % n], scope["c%d" % n] = kind, cell
        if kind is _Never:
            parts.append("c%d(v%d)" % (n, n))
        elif kind is float:
            parts.append("v%d if type(v%d) is k%d and v%d == v%d else c%d(v%d)"
                         % (n, n, n, n, n, n, n))
        else:
            parts.append("v%d if type(v%d) is k%d else c%d(v%d)" % (n, n, n, n, n))
    source = "def row_cells(row):\n    %s, = row\n    return [%s]\n" % (
        ", ".join("v%d" % n for n in range(len(cells))), ", ".join(parts))
    exec(source, scope)     # only our own text: type names and cell numbers
    return scope["row_cells"]


class CellFormatter(object):
    """Text of each cell from its column's DSS type, whether DSS hands strings or
    pandas-typed values (3.0 for an int, NaN/NaT/None when missing, Timestamps).

    Strings are written as given. The common plain types (str, float, int, bool)
    take a fast path by exact type: this runs once per cell of the dataset."""

    def __init__(self, columns, null_value=""):
        self.null_value = null_value
        self._float32_texts = {}   # value -> text: columns repeat values (prices, ...)
        self._cells = [self._for_type(column.get("type")) for column in columns]
        self._row_cells = _compile_row([_PLAIN_TYPES.get(column.get("type"), str)
                                        for column in columns], self._cells)

    def _for_type(self, kind):
        if kind in _INT_TYPES:
            return self.integer
        return {"boolean": self.boolean, "float": self.float32, "date": self.instant,
                "dateonly": self.day}.get(kind, self.generic)

    def format_row(self, row):
        cells = self._cells
        if len(row) != len(cells):   # defensive: pad a short row, keep extra values
            cells = (cells + [self.generic] * len(row))[:max(len(row), len(cells))]
            row = list(row) + [None] * (len(cells) - len(row))
        return [cell(value) for cell, value in zip(cells, row)]

    def csv_cells(self, row):
        """``format_row`` for ``csv.writer``, which writes ``str(value)`` itself:
        values of their column's plain type (str, int, a float that is not NaN)
        go through as they are, without a Python call per cell."""
        if len(row) != len(self._cells):
            return self.format_row(row)
        return self._row_cells(row)

    def generic(self, value):
        kind = type(value)
        if kind is str:
            return value
        if kind is float:
            return repr(value) if value == value else self.null_value
        if kind is int:
            return str(value)
        if kind is bool:
            return "true" if value else "false"
        return self._render(_plain(value))

    def integer(self, value):
        kind = type(value)
        if kind is float:   # pandas hands ints as floats, NaN when missing
            if value != value:
                return self.null_value
            return str(int(value)) if value.is_integer() else repr(value)
        if kind is str:
            return value
        if kind is int:
            return str(value)
        value = _plain(value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return self._render(value)

    def float32(self, value):
        """A DSS ``float`` (32 bits): pandas widens it to a Python float, so 0.1
        arrives as 0.10000000149011612; written back as the shortest text that
        reads as the same float32 ("0.1")."""
        kind = type(value)
        if kind is str:
            return value
        if kind is not float:
            value = _plain(value)
            if not isinstance(value, float):
                return self._render(value)
        if value != value:
            return self.null_value
        texts = self._float32_texts
        text = texts.get(value)
        if text is None or not value:          # 0.0 == -0.0: both computed
            text = _shortest_float32(value)
            if len(texts) < FLOAT32_CACHE:
                texts[value] = text
        return text

    def boolean(self, value):
        kind = type(value)
        if kind is bool:
            return "true" if value else "false"
        if kind is str:
            return value
        value = _plain(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return "true" if value else "false"
        return self._render(value)

    def instant(self, value):
        """A DSS ``date``: an instant, UTC. Naive values are UTC already (pandas
        without a time zone); aware ones are converted. Written with a ``Z``."""
        kind = type(value)
        if kind is str:
            return value
        if kind is datetime.datetime:   # fast path: naive or already UTC
            zone = value.tzinfo
            if zone is None:
                return value.isoformat() + "Z"
            if zone is _UTC or value.utcoffset() == _ZERO:
                return value.isoformat()[:-6] + "Z"     # "+00:00" -> "Z"
        value = _plain(value)
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return value.isoformat() + "Z"
        if type(value).__name__ == "datetime64":
            text = str(value)
            return text + "Z" if "T" in text else text
        return self._render(value)

    def day(self, value):
        """A DSS ``dateonly``: the day alone, even when it arrives as a Timestamp."""
        if type(value) is str:
            return value
        value = _plain(value)
        if isinstance(value, datetime.datetime):
            return value.date().isoformat()
        return self._render(value)

    def _render(self, value):
        """Text of a value already through ``_plain`` (None when missing)."""
        if value is None:
            return self.null_value
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime.datetime):
            return _iso_datetime(value)
        if isinstance(value, (datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, (list, tuple, dict)):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                              default=_json_default)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)   # int (any size), float (shortest round-trip), Decimal, ...


def format_row(schema, row, null_value=""):
    """The cells of ``row`` as text (one-off use; ``CellFormatter`` for many rows)."""
    return CellFormatter(_columns(schema), null_value).format_row(row)


def _plain(value):
    """``value`` as a plain Python object, or None when it stands for a missing one."""
    if value is None or type(value).__name__ in _MISSING_TYPES:
        return None
    kind = type(value)
    if (kind.__module__ or "").split(".")[0] == "numpy" and kind.__name__ != "datetime64":
        value = value.tolist() if hasattr(value, "tolist") else value   # scalars and arrays
    if not isinstance(value, (str, list, tuple, dict)):
        try:
            if value != value:   # NaN of any kind, numpy NaT
                return None
        except (TypeError, ValueError):
            pass
    return value


def _shortest_float32(value):
    """``repr`` of the shortest decimal that reads back as the same float32; plain
    ``repr`` for a value no float32 can hold (then it was not one).

    Rounding to more digits never moves further from the value (a d-digit decimal
    is also a (d+1)-digit one), so whether d digits read back is monotone in d:
    a binary search over 1..9 asks about 3 candidates instead of up to 9."""
    try:
        target = _PACK_F32(value)
    except OverflowError:
        return repr(value)
    low, high = 1, _FLOAT32_DIGITS
    while low < high:
        digits = (low + high) // 2
        if _reads_back(float("%.*g" % (digits, value)), target):
            high = digits
        else:
            low = digits + 1
    return repr(float("%.*g" % (low, value)))


def _reads_back(candidate, target):
    try:
        return _PACK_F32(candidate) == target
    except OverflowError:   # rounded up past the largest float32
        return False


def _iso_datetime(value):
    text = value.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _json_default(value):
    plain = _plain(value)
    if isinstance(plain, datetime.datetime):
        return _iso_datetime(plain)
    if isinstance(plain, (datetime.date, datetime.time)):
        return plain.isoformat()
    return plain if plain is None or plain is not value else str(value)


def _columns(schema):
    columns = schema.get("columns") if isinstance(schema, dict) else schema
    if not isinstance(columns, (list, tuple)):
        raise SftpClientError("The dataset schema has no list of columns.")
    return [column if isinstance(column, dict) else {"name": str(column)}
            for column in columns]


