/** The CLI's subcommands, shared by main.ts (which loads each one) and launch.ts (one code cache per command). */
export const COMMAND_NAMES = ['run', 'history', 'export', 'import', 'regions', 'doctor', 'slurm'] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];
