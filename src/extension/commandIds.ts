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
