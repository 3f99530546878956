/**
 * File helpers of the history store: atomic rewrites (tmp + rename), quiet removal, ages and line counts, and the
 * checkpoint file format (running/<id>.json) as read back, with the view of a checkpoint whose meter died.
 */
import * as fs from 'node:fs';
import type { CheckpointOwner, Run } from '../types';
import { writeFileAtomic } from '../util/fs';
import { checkpointProblem, type CheckpointFile } from './records';
import { errorMessage } from '../errors';

/** The note added to a run recovered after its meter died. */
export const INTERRUPTED_NOTE = 'recovered after the meter stopped unexpectedly; energy up to the last checkpoint';

export function isNoEnt(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Writes <file>.tmp-<pid>-<random> (private to the user), fsyncs it when `durable`, and renames it over `file`. */
export function writeAtomic(file: string, data: string, durable: boolean): void {
  writeFileAtomic(file, data, { durable, mode: 0o600 });
}

/** A checkpoint as shown (and recorded) once its meter is gone. */
export function interruptedView(run: Run, owner: CheckpointOwner): Run {
  const notes = run.notes ? [...run.notes] : [];
  if (!notes.includes(INTERRUPTED_NOTE)) notes.push(INTERRUPTED_NOTE);
  return { ...run, status: 'interrupted', endedAt: owner.heartbeatAt, exitCode: null, notes };
}

export function readCheckpointFile(file: string): CheckpointFile | string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isNoEnt(err)) return undefined;
    return `unreadable: ${errorMessage(err)}`;
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    return `not JSON (${errorMessage(err)})`;
  }
  return checkpointProblem(x) ?? (x as CheckpointFile);
}

export function rmQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

export function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

export function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function countLines(file: string): number {
  try {
    return countNewlines(fs.readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
}
