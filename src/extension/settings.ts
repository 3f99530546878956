/** Moved to src/core/config/settings.ts (pure, no `vscode`); src/extension/configuration.ts is the VS Code side. */
export * from '../core/config/settings';
