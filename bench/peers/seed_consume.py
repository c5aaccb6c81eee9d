"""
The seed design's consumer: `confluent-kafka` polls the records the seed ingestor wrote and psycopg2
`execute_values` writes them to PostgreSQL in batches of 500 rows or every 2 s, whichever comes
first, `INSERT … ON CONFLICT DO NOTHING` into NUMERIC columns; the offsets are committed after the
rows (at-least-once, the primary key drops what a replay writes twice).

  python seed_consume.py --brokers 127.0.0.1:9092 --topic T --group G --dsn postgresql://… \
      [--batch-rows 500] [--batch-ms 2000]

Creates its table when missing. Prints `ready` on stderr once it was assigned partitions; on SIGTERM writes
what it holds, commits and prints one JSON line of counters. A record it cannot use is counted by
reason and skipped.
"""
import json
import signal
import sys
import time

import psycopg2
from confluent_kafka import Consumer
from psycopg2.extras import execute_values

from peer_args import parse_args
from seed_records import ROW_COLUMNS, BadInput, record_to_row

CREATE = """
CREATE TABLE IF NOT EXISTS trades (
  exchange text NOT NULL,
  market text NOT NULL,
  symbol text NOT NULL,
  kind text NOT NULL,
  trade_id bigint NOT NULL,
  price numeric NOT NULL,
  quantity numeric NOT NULL,
  trade_time timestamptz NOT NULL,
  buyer_is_maker boolean NOT NULL,
  event_time timestamptz NOT NULL,
  ingestion_timestamp timestamptz NOT NULL,
  PRIMARY KEY (exchange, market, symbol, kind, trade_id)
)"""
INSERT = f"INSERT INTO trades ({', '.join(ROW_COLUMNS)}) VALUES %s ON CONFLICT DO NOTHING"


def main() -> None:
    args = parse_args(('brokers', 'topic', 'group', 'dsn'), {'batch-rows': 500, 'batch-ms': 2000})
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    db = psycopg2.connect(args.dsn)
    with db.cursor() as cur:
        cur.execute(CREATE)
    db.commit()
    consumer = Consumer({
        'bootstrap.servers': args.brokers,
        'group.id': args.group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
    })
    announced = False

    def assigned(_consumer, partitions):
        nonlocal announced
        if partitions and not announced:
            print('ready', file=sys.stderr, flush=True)
            announced = True

    consumer.subscribe([args.topic], on_assign=assigned)
    rows: list[tuple] = []
    counters = {'records': 0, 'written': 0, 'batches': 0, 'bad': {}}
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if rows:
            with db.cursor() as cur:
                execute_values(cur, INSERT, rows, page_size=len(rows))
            db.commit()
            consumer.commit(asynchronous=False)
            counters['written'] += len(rows)
            counters['batches'] += 1
            rows.clear()
        last_flush = time.monotonic()

    while not stopping:
        msg = consumer.poll(0.1)
        if msg is not None:
            if msg.error():
                print(f'seed_consume: {msg.error()}', file=sys.stderr, flush=True)
            else:
                counters['records'] += 1
                try:
                    rows.append(record_to_row(msg.value()))
                except BadInput as err:
                    counters['bad'][err.reason] = counters['bad'].get(err.reason, 0) + 1
        if len(rows) >= args.batch_rows or (rows and (time.monotonic() - last_flush) * 1000 >= args.batch_ms):
            flush()
    flush()
    consumer.close()
    db.close()
    print(json.dumps(counters), flush=True)


if __name__ == '__main__':
    main()
