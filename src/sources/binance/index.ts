export { BinanceSource, type BinanceSourceDeps, type BinanceSourceOptions, unreachableMessage } from './source.js';
export {
  parseFrame,
  type ParseResult,
  type DeadLetterReason,
  type ControlMessage,
  type ServerShutdownNotice,
  type DepthSnapshotLine,
} from './parse.js';
export { GapDetector, type GapDetectorOptions, type Verdict } from './gaps.js';
export { BinanceConnection, type ConnectionOptions, type ConnectionHandlers, type DownReason } from './connection.js';
export { AttemptLimiter } from './attempt-limiter.js';
export { SPOT_WS_URL, USDM_WS_URL, streamUrl, subscribedStreams, wireStreamName } from './streams.js';
export { FrameHandler, type FrameHandlerOptions, type FrameContext, frameRulesFor } from './frame-handler.js';
export { RecentUpdateIds, DepthSequences, depthBreak, type DepthBreak } from './update-ids.js';
export { payloadProblem, type PayloadRules, type PayloadProblem, type PayloadReason } from './validate.js';
