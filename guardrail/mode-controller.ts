/**
 * Applies the mode policy to a cluster: each sample is evaluated against the current config and a switch is
 * written as a compare-and-swap of the config (membership and epoch untouched), logged with its reason and
 * counted. Losing the race to a concurrent change re-reads and re-decides, a bounded number of times.
 */
import { withMode } from './config.ts';
import { noCounters, type GuardrailCounters } from './counters.ts';
import { GuardrailConflictError } from './errors.ts';
import { requireConfig } from './membership.ts';
import {
  checkPolicyOptions,
  evaluateMode,
  type ModeDecision,
  type ModePolicyOptions,
  type ModePolicyState,
  type ModeSample,
} from './mode-policy.ts';
import type { Guardrail, Mode, VersionedConfig } from './types.ts';

export interface ModeSwitch extends ModeDecision {
  from: Mode;
  config: VersionedConfig;
}

export interface ModeControllerOptions {
  guardrail: Guardrail;
  policy: ModePolicyOptions;
  counters?: GuardrailCounters;
  /** One line per switch; default console.error. */
  log?: (line: string) => void;
  /** Recorded in the history as who switched; default 'mode-controller'. */
  actor?: string;
  /** Compare-and-swap attempts per sample when concurrent changes win; default 3. */
  conflictAttemptsMax?: number;
}

/** A sample without `liveMembers` is completed with the count of configured members whose lease is live. */
export type ControllerSample = Omit<ModeSample, 'liveMembers'> & { liveMembers?: number };

export class ModeController {
  private state: ModePolicyState = {};
  private readonly options: Required<Omit<ModeControllerOptions, 'counters'>> & { counters: GuardrailCounters };

  constructor(options: ModeControllerOptions) {
    checkPolicyOptions(options.policy);
    this.options = {
      counters: noCounters,
      log: (line) => console.error(line),
      actor: 'mode-controller',
      conflictAttemptsMax: 3,
      ...options,
    };
  }

  /** Evaluates one sample; resolves to the switch it wrote, or undefined when the mode stays. */
  async observe(sample: ControllerSample): Promise<ModeSwitch | undefined> {
    const { guardrail, policy, conflictAttemptsMax } = this.options;
    for (let attempt = 1; ; attempt++) {
      const current = await requireConfig(guardrail);
      const live = sample.liveMembers ?? (await this.liveConfigured(current));
      const { state, decision } = evaluateMode(
        this.state,
        current.config.mode,
        current.config.fastQuorum,
        { ...sample, liveMembers: live },
        policy,
      );
      if (!decision) {
        this.state = state;
        return undefined;
      }
      try {
        const config = await guardrail.updateConfig(current.revision, withMode(current.config, decision.to), {
          reason: `${decision.cause}: ${decision.reason}`,
          actor: this.options.actor,
        });
        this.state = state;
        return this.record({ ...decision, from: current.config.mode, config });
      } catch (error) {
        if (!(error instanceof GuardrailConflictError) || attempt >= conflictAttemptsMax) throw error;
      }
    }
  }

  private async liveConfigured(current: VersionedConfig): Promise<number> {
    const live = new Set((await this.options.guardrail.liveMembers()).map((m) => m.id));
    return current.config.members.filter((m) => live.has(m.id)).length;
  }

  private record(change: ModeSwitch): ModeSwitch {
    this.options.counters.inc('guardrail_mode_switches_total', { to: change.to, cause: change.cause });
    this.options.log(
      `guardrail ${this.options.guardrail.cluster}: mode ${change.from} -> ${change.to} at config revision ` +
        `${change.config.revision} (${change.cause}: ${change.reason})`,
    );
    return change;
  }
}
