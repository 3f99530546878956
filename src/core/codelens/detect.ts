/**
 * Where does training start in a Python file? The lines a CodeLens goes on, with no decorator and no configuration,
 * from the code alone. The pieces, in the order they run:
 *
 * - parser.ts: tree-sitter-python through web-tree-sitter, loaded lazily (`initDetector()`);
 * - python.ts: the syntax tree as logical statements, grouped by top-level statement;
 * - evidence.ts and flow.ts: what one statement says (training calls, optimisation steps, hand-written updates);
 * - shape.ts, facts.ts, commands.ts, assemble.ts: what the file says, gathered per top-level statement and in the
 *   file's context (commands that train among it);
 * - lenses.ts: what runs, what trains, and the lines chosen;
 * - incremental.ts: the same over a document's successive versions, re-reading only what an edit touched.
 *
 * Cost (bench/codelens.ts): a first call parses the whole file (tens of ms for 5,000 lines); after an edit, the
 * extension's call re-reads only the touched top-level statements and keeps the lenses when what they read holds
 * (1–2 ms of CPU for 5,000 lines; an edit that leaves a syntax error may cost a full parse).
 */
import { PythonDocument } from './incremental';
import type { DetectOptions, TrainingEntrypoint } from './lenses';
import { initDetector } from './parser';
import { mayTrain } from './evidence';

export { MAX_LENSES, type DetectOptions, type EntrypointKind, type TrainingEntrypoint } from './lenses';
export { mayTrain, optimisationStep, trainingCall, type CallEvidence } from './evidence';
export { DocumentDetectors, PythonDocument } from './incremental';

/** The lines of a Python file where training starts, best first, MAX_LENSES at most. `line` is 0-based. */
export async function detectTrainingEntrypoints(
  source: string,
  opts: DetectOptions = {},
): Promise<TrainingEntrypoint[]> {
  await initDetector();
  return detectTrainingEntrypointsSync(source, opts);
}

/** As detectTrainingEntrypoints, once `initDetector()` has finished (it throws before). A full parse each call. */
export function detectTrainingEntrypointsSync(source: string, opts: DetectOptions = {}): TrainingEntrypoint[] {
  // cheap exit: a file that names nothing of training has no lens (most Python files)
  if (!mayTrain(source)) return [];
  const doc = new PythonDocument();
  try {
    return doc.detect(source, opts);
  } finally {
    doc.dispose();
  }
}
