/**
 * Every command Carbon Meter contributes, as one typed union. package.json `contributes.commands` lists the same ids
 * (test/unit/commandIds.test.ts checks both ways); registering or running a command goes through `CommandId`
 * (commands.ts `registerCommand`, `executeCommand`), so a typo or a removed command fails to compile.
 * No `vscode` import: the unit test loads this module in plain Node.
 */
export const COMMAND_IDS = [
  'carbonMeter.showHistory',
  'carbonMeter.stopMetering',
  'carbonMeter.meterProcess',
  'carbonMeter.meterTerminalProcess',
  'carbonMeter.showRun',
  'carbonMeter.openSettings',
  'carbonMeter.showLog',
  'carbonMeter.setApiKey',
  'carbonMeter.runFileMetered',
  'carbonMeter.debugFileMetered',
  'carbonMeter.showFileRuns',
  'carbonMeter.runAtGreenerTime',
  'carbonMeter.cancelScheduledRun',
  'carbonMeter.runScheduledNow',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];

/** A `command:` link for Markdown (hovers, tooltips), with its arguments encoded as VS Code expects. */
export function commandLink(id: CommandId, ...args: unknown[]): string {
  return args.length ? `command:${id}?${encodeURIComponent(JSON.stringify(args))}` : `command:${id}`;
}

/**
 * Context keys the extension sets (contextKeys.ts) for the `when` clauses of package.json's commandPalette menu: a
 * command that acts on something is listed only while there is something to act on.
 */
export const CONTEXT_KEYS = {
  /** runs are metered in this window: Stop Metering */
  metering: 'carbonMeter.metering',
  /** a run is scheduled for a greener hour in this window: Cancel Scheduled Run, Run Scheduled Run Now */
  hasScheduledRuns: 'carbonMeter.hasScheduledRuns',
} as const;

/** The palette entries shown only while their context key is true. */
export const PALETTE_WHEN: Partial<Record<CommandId, string>> = {
  'carbonMeter.stopMetering': CONTEXT_KEYS.metering,
  'carbonMeter.cancelScheduledRun': CONTEXT_KEYS.hasScheduledRuns,
  'carbonMeter.runScheduledNow': CONTEXT_KEYS.hasScheduledRuns,
};
