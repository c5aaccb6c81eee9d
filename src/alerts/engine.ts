import { createHash } from 'node:crypto';
import type { AlertRule } from '../config/schema.js';
import { type GapEvent, type Instrument, instrumentKey, instrumentOf } from '../core/events.js';
import type { Signal } from '../core/signals.js';
import { describe, EVENT_CONDITIONS, thresholdFor, WINDOW_CONDITIONS } from './conditions.js';

/** One sample of a state condition (consumerLag, sourceDisconnected, noData, gapUnhealed). */
export interface StateSample {
  /** The alert's identity within its rule: a consumer group, a connection, a stream, an instrument. */
  readonly key: string;
  readonly instrument?: Instrument;
  readonly value: number;
  /** When the condition began, if the sample knows (a gap's detection time); else the first breaching evaluation. */
  readonly since?: number;
}

/** What the state conditions read at an evaluation; null: this process cannot know (→ the rule's noData). */
export interface StateProbe {
  readonly consumerLag: readonly StateSample[] | null;
  readonly sourceDisconnected: readonly StateSample[] | null;
  readonly noData: readonly StateSample[] | null;
  readonly gapUnhealed: readonly StateSample[] | null;
}

/**
 * What a transition announces: the alert started firing, still fires (a repeat after the rule's
 * `repeat` ms), or resolved.
 */
export type TransitionState = 'firing' | 'repeat' | 'resolved';

/** A change to announce (and record in alert_events). */
export interface AlertTransition {
  readonly rule: AlertRule;
  readonly key: string;
  readonly instrument: Instrument | undefined;
  readonly state: TransitionState;
  readonly value: number | null;
  readonly threshold: number;
  /** When the condition began (epoch ms; event time for market conditions). */
  readonly activeAt: number;
  /** When this transition happened (the engine's clock). */
  readonly at: number;
  readonly message: string;
  /** Same rule, alert, start and transition → same key: a restart or replay sends it once. */
  readonly idempotencyKey: string;
}

/** An alert that is firing (or waiting out its `for`). */
export interface ActiveAlert {
  readonly rule: string;
  readonly key: string;
  readonly instrument: Instrument | undefined;
  readonly state: 'pending' | 'firing';
  readonly value: number | null;
  readonly threshold: number;
  readonly activeAt: number;
  readonly firedAt: number | undefined;
}

/** A firing alert as alert_events last recorded it, reloaded at start-up. */
export interface RestoredAlert {
  readonly rule: string;
  readonly key: string;
  readonly instrument: Instrument | undefined;
  readonly value: number | null;
  readonly threshold: number;
  readonly activeAt: number;
  readonly lastSentAt: number;
  readonly repeats: number;
}

/** What the engine knows of one (rule, key). */
interface Track {
  readonly instrument: Instrument | undefined;
  value: number | null;
  breaching: boolean;
  /** Start of the current breaching run (event time for window/event conditions). */
  since: number | undefined;
  /** How long the run has held, by its own clock (window conditions: window ends). */
  held: number;
  /** Engine time of the last observation (window/event conditions) or sample (state conditions). */
  seenAt: number;
  lastEventAt: number;
  /** End of the newest window observed (window conditions): an older one (a replay behind, a late correction) does not move the state back. */
  lastEnd: number;
}

interface Instance {
  state: 'pending' | 'firing';
  activeAt: number;
  firedAt: number | undefined;
  lastSentAt: number;
  repeats: number;
  value: number | null;
  threshold: number;
  readonly instrument: Instrument | undefined;
}

/**
 * The alert rules' state machine, pure: signals and gap events are observed as they arrive,
 * `evaluate` (every alerts.evaluateIntervalMs, and in a replay after each observation) decides
 * transitions with the injected clock. Per (rule, key): ok → pending while the condition has held
 * for less than `for` → firing → (repeat every `repeat`) → resolved when it no longer holds.
 */
export class AlertEngine {
  private readonly tracks = new Map<string, Map<string, Track>>();
  private readonly instances = new Map<string, Map<string, Instance>>();

  constructor(
    readonly rules: readonly AlertRule[],
    private readonly now: () => number = Date.now,
  ) {
    for (const rule of rules) {
      this.tracks.set(rule.name, new Map());
      this.instances.set(rule.name, new Map());
    }
  }

  /** Folds in one signal of the processor's stream (final metric windows and whales matter). */
  observe(signal: Signal): void {
    for (const rule of this.rules) {
      if (!this.applies(rule, signal.symbol)) continue;
      const value = signalValue(rule, signal);
      if (value === undefined) continue;
      const key = instrumentKey(signal);
      const track = this.track(rule, key, instrumentOf(signal));
      const threshold = thresholdFor(rule, signal.symbol);
      if (WINDOW_CONDITIONS.has(rule.condition) && (signal.kind === 'tradeMetrics' || signal.kind === 'spreadMetrics')) {
        if (signal.end <= track.lastEnd) continue;
        track.lastEnd = signal.end;
        track.value = value;
        track.seenAt = this.now();
        track.breaching = value > threshold;
        if (!track.breaching) track.since = undefined;
        else {
          track.since ??= signal.time;
          track.held = signal.end - track.since;
        }
      } else if (value >= threshold) {
        this.event(rule, track, value, signal.time);
      }
    }
  }

  /** A gap found by the source (the `gap` condition: missing ids). */
  observeGap(gap: GapEvent): void {
    const value = gap.lastMissingId - gap.firstMissingId + 1;
    for (const rule of this.rules) {
      if (rule.condition !== 'gap' || !this.applies(rule, gap.symbol) || value <= thresholdFor(rule, gap.symbol)) continue;
      this.event(rule, this.track(rule, `${instrumentKey(gap)}:${gap.stream}`, instrumentOf(gap)), value, gap.detectedAt);
    }
  }

  /**
   * Reinstalls firing alerts recorded before a restart: they are not announced again. A rule over
   * signals keeps its alert firing until a window or an event says otherwise (or, without any,
   * `noDataAfter` / `within` passes); a state rule is decided by the next sample.
   */
  restore(alerts: readonly RestoredAlert[]): void {
    for (const a of alerts) {
      const rule = this.rules.find((r) => r.name === a.rule);
      if (rule && !STATE_CONDITIONS.has(rule.condition)) {
        const track = this.track(rule, a.key, a.instrument);
        // Windows before the run began (a replay from an earlier point) cannot end it.
        Object.assign(track, {
          value: a.value,
          breaching: true,
          since: a.activeAt,
          held: rule.for,
          seenAt: this.now(),
          lastEventAt: this.now(),
          lastEnd: a.activeAt,
        });
      }
      this.instances.get(a.rule)?.set(a.key, {
        state: 'firing',
        activeAt: a.activeAt,
        firedAt: a.lastSentAt,
        lastSentAt: a.lastSentAt,
        repeats: a.repeats,
        value: a.value,
        threshold: a.threshold,
        instrument: a.instrument,
      });
    }
  }

  /**
   * Decides every rule at the engine's current time; returns the transitions to announce. Without
   * a probe only the rules over signals and gaps are decided (state rules wait for a sample).
   */
  evaluate(probe?: StateProbe): AlertTransition[] {
    const now = this.now();
    const out: AlertTransition[] = [];
    for (const rule of this.rules) {
      const tracks = this.tracks.get(rule.name) as Map<string, Track>;
      const samples = probe === undefined ? undefined : stateSamples(rule, probe);
      if (probe === undefined && STATE_CONDITIONS.has(rule.condition)) continue;
      if (samples !== undefined) this.sample(rule, tracks, samples, now);
      const instances = this.instances.get(rule.name) as Map<string, Instance>;
      const keys = new Set([...tracks.keys(), ...instances.keys()]);
      for (const key of keys) this.decide(rule, key, tracks.get(key), instances, now, out);
    }
    return out;
  }

  /** Pending and firing alerts, for /api/alerts. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const [rule, instances] of this.instances) {
      for (const [key, i] of instances) {
        out.push({ rule, key, instrument: i.instrument, state: i.state, value: i.value, threshold: i.threshold, activeAt: i.activeAt, firedAt: i.firedAt });
      }
    }
    return out;
  }

  private applies(rule: AlertRule, symbol: string | undefined): boolean {
    return rule.symbols.length === 0 || (symbol !== undefined && rule.symbols.includes(symbol));
  }

  private track(rule: AlertRule, key: string, instrument: Instrument | undefined): Track {
    const tracks = this.tracks.get(rule.name) as Map<string, Track>;
    let track = tracks.get(key);
    if (!track) {
      track = { instrument, value: null, breaching: false, since: undefined, held: 0, seenAt: this.now(), lastEventAt: -Infinity, lastEnd: -Infinity };
      tracks.set(key, track);
    }
    return track;
  }

  /** An event starts a run unless the previous run is still within `within`. */
  private event(rule: AlertRule, track: Track, value: number, time: number): void {
    if (track.since === undefined || time - track.lastEventAt >= rule.within) track.since = time;
    track.value = value;
    track.lastEventAt = Math.max(track.lastEventAt, time);
    track.seenAt = this.now();
  }

  private sample(rule: AlertRule, tracks: Map<string, Track>, samples: readonly StateSample[] | null, now: number): void {
    if (samples === null) {
      // Unknown state: one track stands for the rule, so noData can alert on it.
      const track = this.track(rule, '', undefined);
      track.value = null;
      track.breaching = false;
      track.seenAt = -Infinity;
      return;
    }
    const present = new Set<string>();
    for (const s of samples) {
      if (!this.applies(rule, s.instrument?.symbol)) continue;
      present.add(s.key);
      const track = this.track(rule, s.key, s.instrument);
      track.value = s.value;
      track.seenAt = now;
      track.breaching = s.value > thresholdFor(rule, s.instrument?.symbol);
      if (!track.breaching) track.since = undefined;
      else track.since ??= s.since ?? now;
      track.held = track.breaching ? now - (track.since as number) : 0;
    }
    for (const [key, track] of tracks) {
      if (!present.has(key)) {
        track.breaching = false;
        track.since = undefined;
        if (key === '' || track.value === null) tracks.delete(key);
      }
    }
  }

  /** The condition of one track now: breaching with how long, ok, or no data. */
  private condition(rule: AlertRule, track: Track | undefined, now: number): { breaching: boolean; held: number; since: number; value: number | null } {
    if (track === undefined) return { breaching: false, held: 0, since: now, value: null };
    if (EVENT_CONDITIONS.has(rule.condition)) {
      const live = track.since !== undefined && now - track.lastEventAt < rule.within;
      if (!live) track.since = undefined;
      return { breaching: live, held: live ? now - (track.since as number) : 0, since: track.since ?? now, value: track.value };
    }
    const noData = WINDOW_CONDITIONS.has(rule.condition) ? now - track.seenAt > rule.noDataAfter : track.seenAt === -Infinity;
    if (!noData) return { breaching: track.breaching, held: track.held, since: track.since ?? now, value: track.value };
    if (rule.noData === 'ok') {
      track.since = undefined;
      return { breaching: false, held: 0, since: now, value: null };
    }
    // Alerting on no data: the run starts when the silence became "no data" (noDataAfter past the last window).
    track.since ??= Number.isFinite(track.seenAt) ? track.seenAt + (WINDOW_CONDITIONS.has(rule.condition) ? rule.noDataAfter : 0) : now;
    return { breaching: true, held: now - track.since, since: track.since, value: null };
  }

  private decide(rule: AlertRule, key: string, track: Track | undefined, instances: Map<string, Instance>, now: number, out: AlertTransition[]): void {
    const c = this.condition(rule, track, now);
    let instance = instances.get(key);
    // A new run of events (the last one ended `within` ago) with no evaluation in between: the old alert ends first.
    if (instance && c.breaching && EVENT_CONDITIONS.has(rule.condition) && c.since !== instance.activeAt) {
      if (instance.state === 'firing') this.emitTransition(rule, key, 'resolved', instance, now, out);
      instances.delete(key);
      instance = undefined;
    }
    const threshold = thresholdFor(rule, track?.instrument?.symbol ?? instance?.instrument?.symbol);
    const emit = (state: TransitionState, i: Instance): void => this.emitTransition(rule, key, state, i, now, out);
    if (!c.breaching) {
      if (instance?.state === 'firing') {
        emit('resolved', instance);
      }
      instances.delete(key);
      return;
    }
    if (!instance) {
      const i: Instance = {
        state: 'pending',
        activeAt: c.since,
        firedAt: undefined,
        lastSentAt: now,
        repeats: 0,
        value: c.value,
        threshold,
        instrument: track?.instrument,
      };
      instances.set(key, i);
      this.decideHeld(rule, i, c.held, now, emit);
      return;
    }
    instance.value = c.value ?? instance.value;
    instance.threshold = threshold;
    if (instance.state === 'pending') this.decideHeld(rule, instance, c.held, now, emit);
    else if (rule.repeat > 0 && now - instance.lastSentAt >= rule.repeat) {
      instance.repeats += 1;
      instance.lastSentAt = now;
      emit('repeat', instance);
    }
  }

  private emitTransition(rule: AlertRule, key: string, state: TransitionState, i: Instance, now: number, out: AlertTransition[]): void {
    const label = i.instrument ? `${i.instrument.symbol} (${i.instrument.exchange} ${i.instrument.market})` : key || 'pipeline';
    const verb = state === 'resolved' ? 'resolved' : state === 'repeat' ? 'still firing' : 'firing';
    out.push({
      rule,
      key,
      instrument: i.instrument,
      state,
      value: i.value,
      threshold: i.threshold,
      activeAt: i.activeAt,
      at: now,
      message: `${rule.name} ${verb} on ${label}: ${describe(rule, i.value, i.threshold)}`,
      idempotencyKey: idempotencyKey(rule.name, key, i.activeAt, state === 'repeat' ? `repeat:${i.repeats}` : state),
    });
  }

  private decideHeld(rule: AlertRule, i: Instance, held: number, now: number, emit: (state: TransitionState, i: Instance) => void): void {
    if (held < rule.for) return;
    i.state = 'firing';
    i.firedAt = now;
    i.lastSentAt = now;
    emit('firing', i);
  }
}

/** The value a signal gives a rule's condition; undefined when the signal does not concern it. */
function signalValue(rule: AlertRule, s: Signal): number | undefined {
  switch (rule.condition) {
    case 'volatility':
      return s.kind === 'tradeMetrics' && s.final && s.volatility !== null ? s.volatility : undefined;
    case 'volumeSpike':
      return s.kind === 'tradeMetrics' && s.final && s.volumeRatio !== null ? s.volumeRatio : undefined;
    case 'priceMove':
      return s.kind === 'tradeMetrics' && s.final ? Math.abs(s.priceMovePct) : undefined;
    case 'spread':
      return s.kind === 'spreadMetrics' && s.final ? s.avgSpreadBps : undefined;
    case 'whale':
      return s.kind === 'whale' ? +s.notional : undefined;
    default:
      return undefined;
  }
}

const STATE_CONDITIONS: ReadonlySet<AlertRule['condition']> = new Set(['consumerLag', 'sourceDisconnected', 'noData', 'gapUnhealed']);

function stateSamples(rule: AlertRule, probe: StateProbe): readonly StateSample[] | null | undefined {
  switch (rule.condition) {
    case 'consumerLag':
    case 'sourceDisconnected':
    case 'noData':
    case 'gapUnhealed':
      return probe[rule.condition];
    default:
      return undefined;
  }
}

/** sha256 of the transition's identity, hex (64 characters). */
export function idempotencyKey(rule: string, key: string, activeAt: number, what: string): string {
  return createHash('sha256').update(`${rule}\u0000${key}\u0000${activeAt}\u0000${what}`).digest('hex');
}
