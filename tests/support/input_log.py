"""Reads Runnel's input log (`runnel_input_log` in runnel.db) record by record from Python, for
benchmarks that watch records arrive while Runnel runs (`runnel export` is the user's way).

The table holds batches (storage/input_log.cc): a row of `count` records of one source and
step with positions seq .. seq + count - 1. A batch of one stores its record as is; a larger
one a snapshot: "RNSS", a varint format version, then per record its time and arrival as
zigzag varint deltas from the previous record's (the first from min_time and first_arrival)
and its bytes (varint length + bytes).
"""

MAGIC = b"RNSS"


def _varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _signed(data, pos):
    value, pos = _varint(data, pos)
    return (value >> 1) ^ -(value & 1), pos


def decode_batch(seq, count, min_time, first_arrival, blob):
    """The records of one batch as (seq, time, arrival, record bytes)."""
    if count == 1:
        return [(seq, min_time, first_arrival, bytes(blob))]
    if blob[:4] != MAGIC:
        raise ValueError(f"input log batch at record {seq}: not a snapshot")
    _, pos = _varint(blob, 4)
    time, arrival, records = min_time, first_arrival, []
    for i in range(count):
        delta, pos = _signed(blob, pos)
        time = ((time + delta + 2**63) % 2**64) - 2**63
        delta, pos = _signed(blob, pos)
        arrival = ((arrival + delta + 2**63) % 2**64) - 2**63
        size, pos = _varint(blob, pos)
        records.append((seq + i, time, arrival, bytes(blob[pos:pos + size])))
        pos += size
    if pos != len(blob):
        raise ValueError(f"input log batch at record {seq}: {len(blob) - pos} bytes left over")
    return records


def records_after(con, after_seq=0):
    """Every record with seq > after_seq, in log order, as (seq, time, arrival, bytes), read
    through the sqlite3 connection `con`."""
    out = []
    rows = con.execute(
        "SELECT seq, count, min_time, first_arrival, records FROM runnel_input_log "
        "WHERE seq + count - 1 > ? ORDER BY seq", (after_seq,))
    for seq, count, min_time, first_arrival, blob in rows:
        out += [r for r in decode_batch(seq, count, min_time, first_arrival, blob)
                if r[0] > after_seq]
    return out


def count_and_first_arrival(con):
    """(records in the log, arrival of the first one), (0, None) when it is empty. Also reads
    the one-row-per-record log of state format 2, for a same-run comparison with an older
    binary (scripts/bench_mqtt.sh BASELINE_BIN)."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(runnel_input_log)")}
    if "count" in columns:
        sql = "SELECT coalesce(sum(count), 0), min(first_arrival) FROM runnel_input_log"
    else:
        sql = "SELECT count(*), min(arrival) FROM runnel_input_log"
    row = con.execute(sql).fetchone()
    return row[0], row[1]
