"""
The seed design's ingestor: Python `websockets` subscribes to Binance's combined streams and each
frame becomes one Kafka record through `confluent-kafka` (librdkafka), produce() + poll(0) per
message, the canonical loop of its documentation. Producer settings as tickflow's bus (acks=all,
idempotence, lz4, the same linger and batch size), so the two differ in the code, not the knobs.

  python seed_ingest.py --ws-url ws://127.0.0.1:PORT --streams btcusdt@aggTrade,… \
      --brokers 127.0.0.1:9092 --topic T [--linger-ms 20] [--batch-bytes 1048576]

Prints `ready` on stderr once subscribed; on SIGTERM flushes and prints one JSON line of counters.
A connection that closes is reopened after 1 s (counted); a frame it cannot use is counted by reason.
"""
import argparse
import asyncio
import json
import signal
import sys
import time

from confluent_kafka import Producer
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from peer_args import parse_args
from seed_records import BadInput, frame_to_record


class Counters:
    def __init__(self) -> None:
        self.received = 0
        self.produced = 0
        self.failed = 0
        self.reconnects = 0
        self.bad: dict[str, int] = {}

    def delivered(self, err, _msg) -> None:
        if err is None:
            self.produced += 1
        else:
            self.failed += 1


def produce(producer: Producer, counters: Counters, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=counters.delivered)
            break
        except BufferError:
            # librdkafka's queue is full: serve delivery reports until there is room.
            producer.poll(0.05)
    producer.poll(0)


async def ingest(args: argparse.Namespace, producer: Producer, counters: Counters) -> None:
    url = f"{args.ws_url}/stream?streams={'/'.join(args.streams.split(','))}"
    announced = False
    while True:
        try:
            async with connect(url, max_size=None) as ws:
                if not announced:
                    print('ready', file=sys.stderr, flush=True)
                    announced = True
                async for text in ws:
                    counters.received += 1
                    try:
                        key, value = frame_to_record(text, time.time_ns() // 1000)
                    except BadInput as err:
                        counters.bad[err.reason] = counters.bad.get(err.reason, 0) + 1
                        continue
                    produce(producer, counters, args.topic, key, value)
        except (ConnectionClosed, OSError) as err:
            print(f'seed_ingest: connection lost ({err}); reconnecting in 1 s', file=sys.stderr, flush=True)
        counters.reconnects += 1
        await asyncio.sleep(1)


async def main() -> None:
    args = parse_args(('ws-url', 'streams', 'brokers', 'topic'), {'linger-ms': 20, 'batch-bytes': 1_048_576})
    producer = Producer({
        'bootstrap.servers': args.brokers,
        'client.id': 'seed-ingest',
        'acks': 'all',
        'enable.idempotence': True,
        'compression.type': 'lz4',
        'linger.ms': args.linger_ms,
        'batch.size': args.batch_bytes,
    })
    counters = Counters()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(ingest(args, producer, counters))
    await stop.wait()
    task.cancel()
    left = producer.flush(30)
    print(json.dumps({'received': counters.received, 'produced': counters.produced, 'failed': counters.failed,
                      'unflushed': left, 'reconnects': counters.reconnects, 'bad': counters.bad}), flush=True)


if __name__ == '__main__':
    asyncio.run(main())
