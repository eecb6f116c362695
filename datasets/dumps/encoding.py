"""How a record is written: the same value gives the same bytes on SQLite and PostgreSQL,
in every release (a round trip through `dataset_load` must give identical files)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .tables import KINDS, Table

# Parquet written a row group per this many records, with fixed options: the same records
# give the same file.
PARQUET_ROW_GROUP = 5_000
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "write_statistics": True}


def json_sorted(value):
    """A JSON value with every object's keys in order (PostgreSQL's jsonb keeps its own
    order, SQLite the written one)."""
    if isinstance(value, dict):
        return {key: json_sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [json_sorted(item) for item in value]
    return value


def value_encode(kind: str, value, pseudonyms) -> object:
    """A database value as it goes into a record."""
    if value is None:
        return None
    if kind == "datetime":
        return value.astimezone(UTC).isoformat()
    if kind == "uuid":
        return str(value)
    if kind == "pseudonym":
        return pseudonyms.of(value)
    if kind == "json":
        return json_sorted(value)
    return value


def value_decode(kind: str, value) -> object:
    """A record's value as the database takes it back."""
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "uuid":
        return uuid.UUID(value)
    return value


def record_key(value) -> int:
    """The order of ids in every file: the database's order of its primary keys (a UUID's
    bytes, an integer)."""
    if isinstance(value, str):
        return uuid.UUID(value).int
    if isinstance(value, uuid.UUID):
        return value.int
    return value


def record_line(record: dict) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def arrow_schema(table: Table):
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "list<int64>": pa.list_(pa.int64()),
        "list<string>": pa.list_(pa.string()),
    }
    fields = [
        pa.field(column.name, types[KINDS[column.kind][0]], nullable=True)
        for column in table.columns
    ]
    return pa.schema(fields, metadata={"license": "CC0-1.0", "table": table.name})


class TableFiles:
    """One table's JSON Lines and Parquet files, written a record at a time (Parquet a row
    group at a time, kept as columns until then)."""

    def __init__(self, table: Table, directory: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.table = table
        self.jsonl_name = f"data/{table.name}.jsonl"
        self.parquet_name = f"data/{table.name}.parquet"
        self.schema = arrow_schema(table)
        self.jsonl = open(directory / self.jsonl_name, "wb")  # noqa: SIM115 (closed in close())
        # The system allocator, not pyarrow's default mimalloc, which keeps what a row group
        # freed (about 20 MB more at the peak on bench/dump.py's 100k database).
        self.pool = pa.system_memory_pool()
        self.parquet = pq.ParquetWriter(
            directory / self.parquet_name, self.schema, memory_pool=self.pool, **PARQUET_OPTIONS
        )
        self.names = [column.name for column in table.columns]
        self.json_names = {column.name for column in table.columns if column.kind == "json"}
        self.columns: dict[str, list] = {name: [] for name in self.names}
        self.pending = 0
        self.count = 0

    def write(self, record: dict, line: bytes) -> None:
        self.jsonl.write(line)
        for name in self.names:
            value = record[name]
            if name in self.json_names and value is not None:
                value = orjson.dumps(value).decode()
            self.columns[name].append(value)
        self.pending += 1
        self.count += 1
        if self.pending >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.pending:
            return
        arrays = [pa.array(self.columns[field.name], type=field.type) for field in self.schema]
        self.parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.columns = {name: [] for name in self.names}
        self.pending = 0

    def close(self) -> None:
        self._flush()
        self.parquet.close()
        self.jsonl.close()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
