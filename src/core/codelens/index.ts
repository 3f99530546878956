/** CodeLens on training entrypoints: detection, run matching and the lens texts (no `vscode` import). */
export * from './cache';
export * from './detect';
export * from './hints';
export * from './match';
export * from './notebook';
export * from './settings';
export { scanStatements, type Statement } from './python';
export { initDetector, isDetectorReady } from './parser';
