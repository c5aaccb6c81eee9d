/** kinesalite ships no types: its factory returns a plain node:http server (index.js). */
declare module 'kinesalite' {
  import type { Server } from 'node:http';
  interface KinesaliteOptions {
    /** Milliseconds a stream stays CREATING / DELETING / UPDATING (default 500). */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    shardLimit?: number;
    /** LevelDB folder; unset: in memory. */
    path?: string;
  }
  export default function kinesalite(options?: KinesaliteOptions): Server;
}
