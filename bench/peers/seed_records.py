"""
The seed design's record format, shared by its ingestor (frame -> Kafka record) and its consumer
(Kafka record -> table row). Standard library only, so it is testable without the venv.

A record is the exchange's trade normalized to JSON, prices and quantities kept as the decimal
strings Binance sends (the table stores them as NUMERIC): exchange, market, symbol, type (trade or
aggTrade), trade_id (`t` or `a`), price, quantity, trade_time and event_time (ms since the epoch),
buyer_is_maker, ingestion_timestamp (µs since the epoch). Binance doc: "Trade Streams" and
"Aggregate Trade Streams" (web-socket-streams.md).
"""
import json
from datetime import datetime, timezone

__all__ = ['BadInput', 'frame_to_record', 'record_to_row', 'ROW_COLUMNS']

# Stream type (after the @ of the stream name) -> the field that holds its id.
_ID_FIELD = {'trade': 't', 'aggTrade': 'a'}

ROW_COLUMNS = ('exchange', 'market', 'symbol', 'kind', 'trade_id', 'price', 'quantity', 'trade_time', 'buyer_is_maker', 'event_time', 'ingestion_timestamp')


class BadInput(ValueError):
    """A frame or record the pipeline cannot use; `reason` is the short cause the counters use."""

    def __init__(self, reason: str, detail: str = ''):
        super().__init__(f'{reason}: {detail}' if detail else reason)
        self.reason = reason


def frame_to_record(text: str | bytes, ingestion_us: int, market: str = 'spot') -> tuple[bytes, bytes]:
    """A combined-stream frame `{"stream":…,"data":{…}}` -> (key = symbol, value = record JSON)."""
    try:
        frame = json.loads(text)
        # The stream name says what the frame is (spot bookTicker data has no "e").
        kind = frame['stream'].partition('@')[2]
        id_field = _ID_FIELD.get(kind)
        if id_field is None:
            raise BadInput('unsupported event', repr(kind))
        data = frame['data']
        record = {
            'exchange': 'binance',
            'market': market,
            'symbol': data['s'],
            'type': kind,
            'trade_id': data[id_field],
            'price': data['p'],
            'quantity': data['q'],
            'trade_time': data['T'],
            'event_time': data['E'],
            'buyer_is_maker': data['m'],
            'ingestion_timestamp': ingestion_us,
        }
    except BadInput:
        raise
    except (ValueError, KeyError, TypeError) as err:
        raise BadInput('malformed frame', repr(err)) from err
    return record['symbol'].encode(), json.dumps(record, separators=(',', ':')).encode()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def record_to_row(value: bytes) -> tuple:
    """A record value -> a row in ROW_COLUMNS order (decimal strings stay strings: NUMERIC in SQL)."""
    try:
        r = json.loads(value)
        return (
            r['exchange'],
            r['market'],
            r['symbol'],
            r['type'],
            int(r['trade_id']),
            str(r['price']),
            str(r['quantity']),
            _utc(r['trade_time'] / 1000),
            bool(r['buyer_is_maker']),
            _utc(r['event_time'] / 1000),
            _utc(r['ingestion_timestamp'] / 1_000_000),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise BadInput('malformed record', repr(err)) from err
