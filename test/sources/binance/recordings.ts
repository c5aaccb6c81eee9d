import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** One recorded frame: the recorder's receive time in epoch µs and the raw combined-stream JSON. */
export interface RecordedFrame {
  readonly receivedAtMicros: number;
  readonly raw: string;
}

/** Lines `<local_receive_ns> <json>` of the hftbacktest recordings in ../shared/data. */
export function readRecording(path: string): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  for (const line of gunzipSync(readFileSync(path)).toString('utf8').split('\n')) {
    if (line.length === 0) continue;
    const space = line.indexOf(' ');
    frames.push({ receivedAtMicros: Number(line.slice(0, space - 3)), raw: line.slice(space + 1) });
  }
  return frames;
}

/** cryptofeed's BINANCE.ws file: a subscribe line, then `<unix seconds>: <json>` lines. */
export function readCryptofeed(path: string): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\d+(?:\.\d+)?): (\{.*\})$/.exec(line);
    if (m === null) continue;
    frames.push({ receivedAtMicros: Math.round(Number(m[1]) * 1e6), raw: m[2]! });
  }
  return frames;
}
