/**
 * WebSocket text frames as a server sends them (RFC 6455 §5.2: FIN set, opcode 1, unmasked), many
 * complete frames in one buffer. The simulator writes a tick's frames for a connection with one
 * socket write instead of one `ws.send` (and one or two syscalls) per frame: at 150k frames/s the
 * per-frame writes, not the market, were the cost. Each frame stays its own WebSocket message.
 */

/** Header bytes before a payload of `n` bytes: 7-bit, 16-bit or 64-bit length. */
function headerSize(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** One buffer holding a text frame per string, in order. */
export function encodeTextFrames(texts: readonly string[]): Buffer {
  const lengths = new Array<number>(texts.length);
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i] ?? '');
    lengths[i] = n;
    size += headerSize(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = lengths[i] ?? 0;
    out[at++] = 0x81;
    if (n < 126) {
      out[at++] = n;
    } else if (n < 65_536) {
      out[at++] = 126;
      out.writeUInt16BE(n, at);
      at += 2;
    } else {
      out[at++] = 127;
      out.writeBigUInt64BE(BigInt(n), at);
      at += 8;
    }
    at += out.write(texts[i] ?? '', at, 'utf8');
  }
  return out;
}
