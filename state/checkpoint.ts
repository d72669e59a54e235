/**
 * The checkpoint file of one store directory: for each changelog partition, the offset up to which the local
 * store reflects the changelog (the next offset to read when restoring, like a committed consumer offset).
 *
 * It decides how much of the changelog a restart replays, so it must never be trusted when damaged: a torn
 * or bit-flipped checkpoint that still parsed could claim offsets the store never reached, and the records in
 * between would be silently skipped. So the file carries a sha256 of its body, and anything that does not
 * verify is reported as `{ ok: false, reason }` for the caller to wipe and rebuild from offset 0.
 *
 * Format (text, so it can be read by hand):
 *   parley-checkpoint 1 sha256:<64 hex digits of the body>\n
 *   {"offsets":{"0":42,"1":7}}\n                                  <- the body
 *
 * Writes are atomic: write a temp file, fsync it, rename it over the old one, fsync the directory. A crash
 * leaves either the old checkpoint or the new one, never a mix (the checksum catches what a broken disk or
 * filesystem does anyway).
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Changelog partition → next offset to read. A partition that is absent restores from offset 0. */
export type ChangelogOffsets = Record<number, number>;

export type CheckpointRead = { ok: true; found: boolean; offsets: ChangelogOffsets } | { ok: false; reason: string };

export const checkpointFileName = '.checkpoint';
const tempFileName = '.checkpoint.tmp';
const headerPattern = /^parley-checkpoint 1 sha256:([0-9a-f]{64})$/;

export function checkpointPath(storeDir: string): string {
  return join(storeDir, checkpointFileName);
}

/** A missing file is `{ ok: true, found: false, offsets: {} }`: nothing was checkpointed, restore from 0. */
export async function readCheckpoint(storeDir: string): Promise<CheckpointRead> {
  let content: Buffer;
  try {
    content = await readFile(checkpointPath(storeDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, found: false, offsets: {} };
    return { ok: false, reason: `cannot read the checkpoint: ${(error as Error).message}` };
  }
  return parseCheckpoint(content);
}

export function parseCheckpoint(content: Buffer): CheckpointRead {
  const newline = content.indexOf(0x0a);
  if (newline < 0) return { ok: false, reason: 'no header line (truncated?)' };
  const header = headerPattern.exec(content.subarray(0, newline).toString('latin1'));
  if (header === null) return { ok: false, reason: 'unrecognised header' };
  const body = content.subarray(newline + 1);
  if (sha256(body) !== header[1]) return { ok: false, reason: 'checksum mismatch (torn or corrupt file)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  const offsets = validOffsets((parsed as { offsets?: unknown } | null)?.offsets);
  if (offsets === undefined) return { ok: false, reason: 'the body is not {"offsets": {partition: offset}}' };
  return { ok: true, found: true, offsets };
}

export function formatCheckpoint(offsets: ChangelogOffsets): Buffer {
  const checked = validOffsets(offsets);
  if (checked === undefined) {
    throw new RangeError(`checkpoint offsets must map partitions to non-negative integers: ${JSON.stringify(offsets)}`);
  }
  // Partitions in numeric order, so equal offsets always give byte-identical files.
  const ordered = Object.keys(checked)
    .map(Number)
    .sort((a, b) => a - b)
    .map((partition) => `"${partition}":${checked[partition]}`);
  const body = Buffer.from(`{"offsets":{${ordered.join(',')}}}\n`, 'utf8');
  return Buffer.concat([Buffer.from(`parley-checkpoint 1 sha256:${sha256(body)}\n`, 'latin1'), body]);
}

export async function writeCheckpoint(storeDir: string, offsets: ChangelogOffsets): Promise<void> {
  const content = formatCheckpoint(offsets);
  const temp = join(storeDir, tempFileName);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, checkpointPath(storeDir));
  // The rename is durable only once the directory entry is: fsync the directory itself.
  const directory = await open(storeDir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

export async function removeCheckpoint(storeDir: string): Promise<void> {
  await rm(checkpointPath(storeDir), { force: true });
}

function validOffsets(value: unknown): ChangelogOffsets | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const offsets: ChangelogOffsets = {};
  for (const [partition, offset] of Object.entries(value)) {
    if (!/^(0|[1-9][0-9]*)$/.test(partition) || !Number.isSafeInteger(Number(partition))) return undefined;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    offsets[Number(partition)] = offset;
  }
  return offsets;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
