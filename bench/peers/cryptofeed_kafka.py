"""
cryptofeed (PyPI) with its Kafka backend, pointed at the exchange simulator: its Binance feed, the
TRADES channel (Binance's aggTrade stream), TradeKafka writing each trade to Kafka.

cryptofeed keeps an exchange's addresses as class attributes (`websocket_endpoints`,
`rest_endpoints`, cryptofeed/exchanges/binance.py), so a subclass carries the simulator's
addresses; its WebSocket connection refuses any address but `wss://` (cryptofeed/connection.py),
so the feed module gets a subclass of it without that check. The feed code, the symbol mapping
(GET /api/v3/exchangeInfo) and the backend are cryptofeed's own. Topics are cryptofeed's own naming, `{key}-BINANCE-{BASE}-{QUOTE}`, with
`key` = --topic-key. The producer gets tickflow's bus durability settings (acks=all, idempotence, lz4), which
TradeKafka passes through to aiokafka, but aiokafka's linger of 0: TradeKafka awaits each send
before the next, so a linger would cap it at one record per linger.

  python cryptofeed_kafka.py --ws-url ws://127.0.0.1:PORT --rest-url http://127.0.0.1:PORT \
      --symbols BTCUSDT,ETHUSDT --brokers 127.0.0.1:9092 --topic-key K

Prints `ready` on stderr once the symbols are mapped; runs until SIGTERM.
"""
import asyncio
import logging
import sys

import cryptofeed.feed
from cryptofeed import FeedHandler
from cryptofeed.backends.kafka import TradeKafka
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint, WSAsyncConn
from cryptofeed.defines import TRADES
from cryptofeed.exchanges import Binance

from peer_args import parse_args


class PlainWSAsyncConn(WSAsyncConn):
    """cryptofeed's WebSocket connection without its `wss://` check: the simulator (like tickflow
    and the seed ingestor against it) speaks plain ws:// on loopback, so no side pays for TLS."""

    def __init__(self, address: str, *args, **kwargs):
        super().__init__('wss://' + address.removeprefix('ws://'), *args, **kwargs)
        self.address = address


def simulator_binance(ws_url: str, rest_url: str) -> type[Binance]:
    """cryptofeed's Binance feed with the simulator's addresses instead of Binance's."""
    routes = Routes('/api/v3/exchangeInfo', l2book='/api/v3/depth?symbol={}&limit={}', authentication='/api/v3/userDataStream')
    return type('SimulatorBinance', (Binance,), {
        'websocket_endpoints': [WebsocketEndpoint(ws_url)],
        'rest_endpoints': [RestEndpoint(rest_url, routes=routes)],
    })


def main() -> None:
    args = parse_args(('ws-url', 'rest-url', 'symbols', 'brokers', 'topic-key'))

    cryptofeed.feed.WSAsyncConn = PlainWSAsyncConn
    feed = simulator_binance(args.ws_url, args.rest_url)
    # exchangeInfo from the simulator: normalized (BTC-USDT) -> exchange symbol (BTCUSDT).
    by_exchange = {v: k for k, v in feed.symbol_mapping().items()}
    symbols = [by_exchange[s] for s in args.symbols.split(',')]
    kafka = TradeKafka(
        key=args.topic_key,
        bootstrap_servers=args.brokers,
        client_id='cryptofeed',
        acks='all',
        enable_idempotence=True,
        compression_type='lz4',
    )
    # Its warnings to stderr: cryptofeed's own log setup only writes files (a rotating handler).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    handler = FeedHandler(config={'uvloop': True, 'log': {'disabled': True}})
    handler.add_feed(feed(symbols=symbols, channels=[TRADES], callbacks={TRADES: kafka}))
    # FeedHandler.run() asks asyncio.get_event_loop() for the loop, which uvloop ≥ 0.22 no longer
    # creates on demand (cryptofeed 2.4.1 predates it): give it one, of the policy FeedHandler set.
    asyncio.set_event_loop(asyncio.new_event_loop())
    print('ready', file=sys.stderr, flush=True)
    handler.run()


if __name__ == '__main__':
    main()
