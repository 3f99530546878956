/** The run history and its interop formats. */
export * from './store';
export { decimateSamples, stepEnergyJ } from './decimate';
export {
  CODECARBON_COLUMNS,
  CODECARBON_V2_COLUMNS,
  parseCodeCarbonCsv,
  runsToCodeCarbonCsv,
  runsToJson,
  type CodeCarbonExportOptions,
  type CodeCarbonImport,
  type CodeCarbonImportOptions,
} from './codecarbon';
export { isSafeRunId, runProblem, type CorruptEntry, type HistoryRecord } from './records';
export type { CheckpointOwner } from './owner';
export { REDACTED, redactRun, redactSecrets } from './redact';
export { importCodeCarbonFile, summariseImportProblems, type CodeCarbonFileImport, type ImportProblem } from './import';
