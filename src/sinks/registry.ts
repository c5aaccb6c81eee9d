import { KinesisSink } from './kinesis/index.js';
import type { SinkOptions } from './options.js';
import type { Sink, SinkDeps } from './sink.js';

type Factories = { readonly [K in SinkOptions['kind']]: (options: Extract<SinkOptions, { kind: K }>, deps: SinkDeps) => Sink };

/** The sink registry: `sinks[].kind` picks the implementation (docs/extending.md "Add a sink"). */
export const sinkKinds: Factories = {
  kinesis: (options, deps) => new KinesisSink(options, deps),
};

/** The sink one config entry describes. */
export function createSink(options: SinkOptions, deps: SinkDeps): Sink {
  const create = sinkKinds[options.kind] as (o: SinkOptions, d: SinkDeps) => Sink;
  return create(options, deps);
}
