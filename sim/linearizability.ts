/**
 * Linearizability of a history of client operations against a sequential model: the search of Wing & Gong with
 * Lowe's memoization, as Porcupine (anishathalye/porcupine) does it. Operations are calls and returns on a time
 * line; the search tries to take, at each point, an operation whose call precedes every return not yet taken, and
 * backtracks when the model refuses every choice. Each (set of operations taken, model state) is tried once.
 *
 * An operation without a return is indeterminate (Jepsen's `info`: the client timed out or never heard back): it
 * may have taken effect at any point after its call, or never, and whatever it returned is unknown. It gets a
 * return at +∞, so it may be taken anywhere after its call — at the end, which is as good as never when nothing
 * observed it.
 *
 * Checking one key at a time is sound for single-key operations (P-compositionality, Herlihy & Wing); an operation
 * on several keys is checked as its projection on each (a necessary condition).
 */

export interface Model<S, I, O> {
  init(): S;
  /** The state after `input` if the sequential object can return `output` from `state` (undefined: unknown). */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** Identifies a state, for memoization. */
  key(state: S): string;
}

export interface Operation<I, O> {
  /** For reports. */
  id: string;
  input: I;
  call: number;
  /** Absent when indeterminate. */
  ret?: { time: number; output: O };
}

export interface LinearizabilityResult {
  ok: boolean;
  /** When not: the longest sequence of operations the search could explain, in its order. */
  longest: string[];
}

interface Entry {
  op: number;
  call: boolean;
  time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** A call's return entry. */
  match: Entry | undefined;
}

/** Search bound: histories this checker is given are small; a blown bound is an error, never a silent pass. */
const stepsMax = 5_000_000;

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): LinearizabilityResult {
  const head = timeline(ops);
  const cache = new Set<string>();
  const stack: { entry: Entry; state: S }[] = [];
  let taken = 0n;
  let state = model.init();
  let longest: number[] = [];
  let entry = head.next;
  for (let steps = 0; head.next; steps++) {
    if (steps > stepsMax)
      throw new Error(`linearizability search of ${ops.length} operations exceeded ${stepsMax} steps`);
    if (entry!.call) {
      const op = ops[entry!.op]!;
      const next = model.step(state, op.input, op.ret?.output);
      const bit = 1n << BigInt(entry!.op);
      const memo = next === undefined ? '' : `${(taken | bit).toString(36)}|${model.key(next)}`;
      if (next !== undefined && !cache.has(memo)) {
        cache.add(memo);
        stack.push({ entry: entry!, state });
        if (stack.length > longest.length) longest = stack.map((s) => s.entry.op);
        state = next;
        taken |= bit;
        lift(entry!);
        entry = head.next;
      } else entry = entry!.next;
    } else {
      // A return reached before its call was taken: what was taken so far cannot be extended. Undo the last choice.
      const top = stack.pop();
      if (!top) return { ok: false, longest: longest.map((i) => ops[i]!.id) };
      state = top.state;
      taken &= ~(1n << BigInt(top.entry.op));
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true, longest: [] };
}

/** Calls and returns in time order; at equal times calls first (the operations overlap: the permissive choice). */
function timeline<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    if (op.ret && op.ret.time < op.call) throw new RangeError(`operation ${op.id} returns before it is called`);
    const ret: Entry = {
      op: i,
      call: false,
      time: op.ret?.time ?? Infinity,
      prev: undefined,
      next: undefined,
      match: undefined,
    };
    entries.push({ op: i, call: true, time: op.call, prev: undefined, next: undefined, match: ret }, ret);
  });
  entries.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.op - b.op);
  const head: Entry = { op: -1, call: false, time: -Infinity, prev: undefined, next: undefined, match: undefined };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes a call and its return out of the list. */
function lift(call: Entry): void {
  for (const e of [call, call.match!]) {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
  }
}

/** Puts them back, in the reverse order of `lift`. */
function unlift(call: Entry): void {
  for (const e of [call.match!, call]) {
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  }
}

// ---- The model the simulator checks: a per-key list of appended values ------------------------------------

export type AppendInput = { kind: 'append'; value: string } | { kind: 'read' };
/** An append returns its position in the list; a read, the list it saw. */
export type AppendOutput = number | readonly string[];

export const listAppend: Model<readonly string[], AppendInput, AppendOutput> = {
  init: () => [],
  step(state, input, output) {
    if (input.kind === 'append') {
      if (output !== undefined && output !== state.length) return undefined;
      return [...state, input.value];
    }
    if (output === undefined) return state;
    const seen = output as readonly string[];
    return seen.length === state.length && seen.every((v, i) => v === state[i]) ? state : undefined;
  },
  key: (state) => state.join('\u0000'),
};
