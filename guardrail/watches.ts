/**
 * The config and liveness watches. The config watch keeps the last good config: a malformed value, a deleted key
 * or an epoch that goes back is reported through onError with its key and revision, and never delivered
 * (issue #5, bad input). The liveness watch turns member keys appearing and vanishing into up/down events.
 */
import type { Clock } from './clock.ts';
import { parseConfig } from './config.ts';
import { GuardrailConfigError, GuardrailError } from './errors.ts';
import { Follower } from './follow.ts';
import type { KvDriver, KvEntry } from './kv.ts';
import type { ConfigListener, ConfigWatch, LivenessEvent, LivenessWatch, VersionedConfig } from './types.ts';

export async function watchConfig(
  kv: KvDriver,
  clock: Clock,
  key: string,
  listener: ConfigListener,
): Promise<ConfigWatch> {
  let current: VersionedConfig | undefined;
  const report = (error: GuardrailError) => listener.onError?.(error);
  const consider = (value: string, revision: number) => {
    if (current && revision <= current.revision) return; // a resynchronisation re-reads what we have
    let config;
    try {
      config = parseConfig(value, key, revision);
    } catch (error) {
      report(error as GuardrailConfigError);
      return;
    }
    if (current && config.epoch < current.config.epoch) {
      report(
        new GuardrailConfigError(key, revision, [`epoch went back from ${current.config.epoch} to ${config.epoch}`]),
      );
      return;
    }
    current = { config, revision };
    listener.onConfig(current);
  };
  const deleted = (revision: number) =>
    report(
      new GuardrailError(
        'NO_CONFIG',
        `${key} was deleted at revision ${revision}; keeping the last good config` +
          (current ? ` (revision ${current.revision})` : ''),
      ),
    );
  const follower = new Follower(kv, clock, key, false, {
    onSnapshot: (entries, revision) => {
      const entry = entries[0];
      if (entry) consider(entry.value, entry.modRevision);
      else if (current) deleted(revision);
    },
    onEvents: (events) => {
      for (const e of events) {
        if (e.type === 'put') consider(e.value, e.modRevision);
        else deleted(e.modRevision);
      }
    },
    onError: report,
  });
  await follower.start();
  return { current: () => current, close: () => follower.close() };
}

export function memberIdOf(entry: Pick<KvEntry, 'key'>, prefix: string): string {
  return entry.key.slice(prefix.length);
}

export async function watchLiveness(
  kv: KvDriver,
  clock: Clock,
  prefix: string,
  listener: (event: LivenessEvent) => void,
  onError: (error: GuardrailError) => void = () => undefined,
): Promise<LivenessWatch> {
  let live = new Set<string>();
  let started = false;
  const follower = new Follower(kv, clock, prefix, true, {
    onSnapshot: (entries, revision) => {
      const now = new Set(entries.map((e) => memberIdOf(e, prefix)));
      // After a resynchronisation, report what changed while the watch was down.
      if (started) {
        for (const id of live) if (!now.has(id)) listener({ type: 'down', id, revision });
        for (const id of now) if (!live.has(id)) listener({ type: 'up', id, revision });
      }
      live = now;
      started = true;
    },
    onEvents: (events) => {
      for (const e of events) {
        const id = memberIdOf(e, prefix);
        if (e.type === 'put' && !live.has(id)) {
          live.add(id);
          listener({ type: 'up', id, revision: e.modRevision });
        } else if (e.type === 'delete' && live.delete(id)) {
          listener({ type: 'down', id, revision: e.modRevision });
        }
      }
    },
    onError,
  });
  await follower.start();
  return { live: () => live, close: () => follower.close() };
}
