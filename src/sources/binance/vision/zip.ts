import { crc32, inflateRawSync } from 'node:zlib';

/** One file inside a zip archive, decompressed and CRC-checked. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

/** Thrown for an archive that is not a readable zip; the message says what is wrong. */
export class ZipError extends Error {}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** data.binance.vision files are one CSV of at most a few hundred MB; refuse anything absurd. */
const MAX_ENTRY_BYTES = 2 ** 31 - 1;

/**
 * Reads every file of a zip archive held in memory (PKWARE APPNOTE: end of central directory →
 * central directory → local headers), stored or deflated, and checks each against its CRC-32 and
 * size, so a truncated or corrupted archive is an error rather than a short CSV. ZIP64 and
 * encryption are refused (data.binance.vision uses neither). The number of entries is bounded by
 * the central directory, which is bounded by the buffer.
 */
export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = findEocd(zip);
  const count = zip.readUInt16LE(eocd + 10);
  const dirSize = zip.readUInt32LE(eocd + 12);
  let at = zip.readUInt32LE(eocd + 16);
  if (at + dirSize > eocd) throw new ZipError('the central directory lies outside the archive (truncated?)');
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new ZipError(`central directory entry ${i} is damaged`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if ((flags & 1) !== 0) throw new ZipError(`${name} is encrypted`);
    if (compressed === 0xffffffff || size === 0xffffffff || size > MAX_ENTRY_BYTES) throw new ZipError(`${name} is too large (ZIP64 is not supported)`);
    if (name.endsWith('/')) continue;
    if (localOffset + 30 > zip.length || zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE) throw new ZipError(`${name}: local header is damaged`);
    const start = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    if (start + compressed > zip.length) throw new ZipError(`${name} is truncated`);
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
      } catch (err) {
        throw new ZipError(`${name} does not decompress: ${(err as Error).message}`);
      }
    } else throw new ZipError(`${name} uses compression method ${method} (only stored and deflate are supported)`);
    if (data.length !== size) throw new ZipError(`${name} is ${data.length} bytes, the archive says ${size}`);
    if (crc32(data) >>> 0 !== crc) throw new ZipError(`${name} fails its CRC-32 check (the archive is corrupted)`);
    entries.push({ name, data });
  }
  return entries;
}

function findEocd(zip: Buffer): number {
  // The EOCD record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const lowest = Math.max(0, zip.length - 22 - 0xffff);
  for (let at = zip.length - 22; at >= lowest; at--) if (zip.readUInt32LE(at) === EOCD_SIGNATURE) return at;
  throw new ZipError('not a zip archive (no end of central directory record)');
}
