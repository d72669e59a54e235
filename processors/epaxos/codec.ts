/**
 * Core values ↔ their Avro and store forms. Avro unions of records come wrapped by their full name (avsc's
 * default), and bytes travel as Buffers; the store keeps records as JSON with payloads in base64.
 */
import type { Join, JoinReply, Message } from './core/messages.ts';
import type { Command, InstanceRecord } from './core/types.ts';

const namespace = 'dev.parley.consensus';

type Wire = Record<string, unknown>;

const commandsToAvro = (commands: Command[]) =>
  commands.map((c) => ({ id: c.id, keys: c.keys, payload: Buffer.from(c.payload) }));
const commandsFromAvro = (commands: { id: string; keys: string[]; payload: Buffer }[]): Command[] =>
  commands.map((c) => ({ id: c.id, keys: [...c.keys], payload: new Uint8Array(c.payload) }));

/** A protocol message as the ProtocolMessage.avsc value. */
export function messageToAvro(m: Message): { message: Wire } {
  if (m.type === 'Join' || m.type === 'JoinReply') return { message: { [`${namespace}.${m.type}`]: joinToAvro(m) } };
  const body: Wire = { ...m };
  delete body['type'];
  if ('commands' in m) body['commands'] = commandsToAvro(m.commands);
  if ('promised' in body) body['promised'] ??= null;
  for (const optional of ['promised', 'report', 'conflict']) {
    if (
      ['PreAcceptReply', 'AcceptReply', 'PrepareReply', 'TryPreAcceptReply'].includes(m.type) &&
      !(optional in body)
    ) {
      if (optional === 'promised' || (optional === 'report' && m.type === 'PrepareReply')) body[optional] = null;
      if (optional === 'conflict' && m.type === 'TryPreAcceptReply') body[optional] = null;
    }
  }
  if (m.type === 'PrepareReply' && m.report) {
    body['report'] = { ...m.report, commands: commandsToAvro(m.report.commands) };
  }
  return { message: { [`${namespace}.${m.type}`]: body } };
}

export function messageFromAvro(value: { message: Wire }): Message {
  const [name, raw] = Object.entries(value.message)[0] as [string, Wire];
  const type = name.slice(namespace.length + 1) as Message['type'];
  if (type === 'Join' || type === 'JoinReply') return joinFromAvro(type, raw);
  const body: Wire = { ...raw, type };
  for (const key of ['promised', 'report', 'conflict']) if (body[key] === null) delete body[key];
  if (Array.isArray(body['commands'])) body['commands'] = commandsFromAvro(body['commands'] as never);
  const report = body['report'] as Wire | undefined;
  if (report) body['report'] = { ...report, commands: commandsFromAvro(report['commands'] as never) };
  body['instance'] = { ...(body['instance'] as Wire), slot: Number((body['instance'] as Wire)['slot']) };
  return body as unknown as Message;
}

function joinToAvro(m: Join | JoinReply): Wire {
  const { type: _type, ...body } = m;
  if (m.type === 'Join') return { ...body, awaiting: m.awaiting ?? null };
  return { ...body, committed: m.committed.map((c) => ({ ...c, commands: commandsToAvro(c.commands) })) };
}

function joinFromAvro(type: 'Join' | 'JoinReply', raw: Wire): Join | JoinReply {
  if (type === 'Join') {
    const { awaiting, ...rest } = raw as unknown as Omit<Join, 'type'> & { awaiting: string[] | null };
    return { type, ...rest, ...(awaiting ? { awaiting } : {}) };
  }
  const reply = raw as unknown as Omit<JoinReply, 'type'>;
  const committed = reply.committed.map((c) => ({
    ...c,
    instance: { replica: c.instance.replica, slot: Number(c.instance.slot) },
    commands: commandsFromAvro(c.commands as never),
  }));
  return { type, ...reply, committed };
}

/** An instance record as stored (JSON): payloads as base64. */
export function recordToJson(record: InstanceRecord): unknown {
  return {
    ...record,
    commands: record.commands.map((c) => ({ ...c, payload: Buffer.from(c.payload).toString('base64') })),
  };
}

export function recordFromJson(json: unknown): InstanceRecord {
  const record = json as Omit<InstanceRecord, 'commands'> & {
    commands: (Omit<Command, 'payload'> & { payload: string })[];
  };
  return {
    ...record,
    commands: record.commands.map((c) => ({ ...c, payload: new Uint8Array(Buffer.from(c.payload, 'base64')) })),
  };
}

export function committedToAvro(record: InstanceRecord): Wire {
  return {
    instance: record.id,
    ballot: record.vbal,
    attributes: record.attributes,
    commands: commandsToAvro(record.commands),
  };
}

export function committedFromAvro(value: Wire): InstanceRecord {
  const instance = value['instance'] as { replica: string; slot: number };
  const ballot = value['ballot'] as InstanceRecord['ballot'];
  return {
    id: { replica: instance.replica, slot: Number(instance.slot) },
    commands: commandsFromAvro(value['commands'] as never),
    status: 'committed',
    attributes: value['attributes'] as InstanceRecord['attributes'],
    ballot,
    vbal: ballot,
    preacceptedEq: false,
  };
}
