import { request } from 'node:http';
import type { Socket } from 'node:net';

/** Per stream: frames received and the id checks of the id-contiguous streams. */
export interface StreamCount {
  frames: number;
  /** Last id seen: trade `t`, aggTrade `a`, depth `u` (the next depth frame must start at u + 1). */
  lastId: number | null;
  /** Frames whose id did not follow the previous one (a hole, a repeat or a reorder). */
  breaks: number;
}

/**
 * A WebSocket client for load tests that costs next to nothing per frame: it reads the frame
 * headers of a combined stream (`/stream?streams=…`) itself, and per frame only the stream name
 * and, on trade/aggTrade/depth, the id fields (`"t":`, `"a":`, `"U":`/`"u":`) — enough to count
 * what arrived and prove the ids contiguous without JSON.parse, which would make the client, not
 * the simulator, the limit. Server frames are unmasked text frames (RFC 6455 §5.2).
 */
export class FrameCounter {
  readonly streams = new Map<string, StreamCount>();
  frames = 0;
  bytes = 0;
  /** Frames kept as text after keep(n) was called (the JSON.parse yardstick's input). */
  readonly kept: string[] = [];
  private keepLeft = 0;
  private rest: Buffer = Buffer.alloc(0);
  private socket: Socket | null = null;
  closed = false;

  private constructor() {}

  /** Opens `url` (ws://host:port/stream?streams=…) and counts until close(). */
  static async open(url: string): Promise<FrameCounter> {
    const counter = new FrameCounter();
    const u = new URL(url.replace(/^ws:/, 'http:'));
    await new Promise<void>((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('upgrade', (_res, socket, head) => {
        counter.socket = socket;
        socket.on('data', (chunk: Buffer) => counter.onData(chunk));
        socket.on('close', () => (counter.closed = true));
        socket.on('error', () => (counter.closed = true));
        if (head.length > 0) counter.onData(head);
        resolve();
      });
      req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode} from ${url}`)));
      req.on('error', reject);
      req.end();
    });
    return counter;
  }

  /** Keeps the text of the next `n` frames in `kept`. */
  keep(n: number): void {
    this.keepLeft = n;
  }

  close(): void {
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const opcode = (buf[at] ?? 0) & 0x0f;
      let len = (buf[at + 1] ?? 0) & 0x7f;
      let header = 2;
      if (len === 126) {
        if (buf.length - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (len === 127) {
        if (buf.length - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (buf.length - at < header + len) break;
      if (opcode === 1) this.onText(buf, at + header, at + header + len);
      at += header + len;
    }
    this.rest = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
  }

  /** `{"stream":"btcusdt@trade","data":{…}}` between start and end. */
  private onText(buf: Buffer, start: number, end: number): void {
    this.frames += 1;
    if (this.keepLeft > 0) {
      this.keepLeft -= 1;
      this.kept.push(buf.toString('utf8', start, end));
    }
    const nameStart = start + 11;
    const nameEnd = buf.indexOf(34, nameStart);
    if (nameEnd < 0 || nameEnd > end) return;
    const stream = buf.toString('latin1', nameStart, nameEnd);
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { frames: 0, lastId: null, breaks: 0 };
      this.streams.set(stream, s);
    }
    s.frames += 1;
    const kind = stream.slice(stream.indexOf('@') + 1);
    if (kind === 'trade') this.follow(s, numberAfter(buf, '"t":', nameEnd, end), null);
    else if (kind === 'aggTrade') this.follow(s, numberAfter(buf, '"a":', nameEnd, end), null);
    else if (kind.startsWith('depth')) this.follow(s, numberAfter(buf, '"U":', nameEnd, end), numberAfter(buf, '"u":', nameEnd, end));
  }

  /** A frame with ids first..last (last null: one id) must start right after the previous one. */
  private follow(s: StreamCount, first: number, last: number | null): void {
    if (s.lastId !== null && first !== s.lastId + 1) s.breaks += 1;
    s.lastId = last ?? first;
  }
}

function numberAfter(buf: Buffer, key: string, from: number, end: number): number {
  const at = buf.indexOf(key, from);
  if (at < 0 || at > end) return NaN;
  let n = 0;
  for (let i = at + key.length; i < end; i++) {
    const c = buf[i] ?? 0;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}
