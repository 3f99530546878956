/**
 * Colours from VS Code's theme, read at runtime from its CSS variables (so dark, light and high-contrast themes all
 * apply, to the charts too), and a notification when the theme changes.
 */
import type { RunSource } from '../core/types';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  fontFamily: string;
  fontSize: number;
  highContrast: boolean;
  source: Record<RunSource, string>;
  cpu: string;
  gpu: string;
  ram: string;
  co2: string;
  intensity: string;
}

export function isHighContrast(): boolean {
  return (
    document.body.classList.contains('vscode-high-contrast') ||
    document.body.classList.contains('vscode-high-contrast-light')
  );
}

export function readTheme(): ChartTheme {
  const blue = opaque(cssVar('--vscode-charts-blue', '#3794ff'));
  const red = opaque(cssVar('--vscode-charts-red', '#f14c4c'));
  const yellow = opaque(cssVar('--vscode-charts-yellow', '#cca700'));
  const orange = opaque(cssVar('--vscode-charts-orange', '#d18616'));
  const green = opaque(cssVar('--vscode-charts-green', '#89d185'));
  const purple = opaque(cssVar('--vscode-charts-purple', '#b180d7'));
  const foreground = cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#cccccc'));
  return {
    foreground,
    muted: cssVar('--vscode-descriptionForeground', foreground),
    grid: cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)'),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    fontFamily: cssVar('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: parseFloat(cssVar('--vscode-font-size', '13px')) || 13,
    highContrast: isHighContrast(),
    source: {
      terminal: blue,
      debug: orange,
      task: purple,
      notebook: orange,
      cli: green,
      slurm: green,
      'codecarbon-import': yellow,
      manual: red,
    },
    cpu: blue,
    gpu: orange,
    ram: purple,
    co2: green,
    intensity: yellow,
  };
}

/** The colour with an alpha, for fills: #rgb, #rrggbb and rgb() are converted; other forms are kept as they are. */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m)
    return `rgba(${parseInt(m[1] + m[1], 16)}, ${parseInt(m[2] + m[2], 16)}, ${parseInt(m[3] + m[3], 16)}, ${alpha})`;
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})(?:[0-9a-f]{2})?$/i.exec(c);
  if (m) return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c);
  if (m) return `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})`;
  return c;
}

/** The colour without its alpha (some theme colours are translucent; a legend swatch must match its opaque line). */
export function opaque(color: string): string {
  const c = color.trim();
  const hex8 = /^#([0-9a-f]{6})[0-9a-f]{2}$/i.exec(c);
  if (hex8) return `#${hex8[1]}`;
  const hex4 = /^#([0-9a-f]{3})[0-9a-f]$/i.exec(c);
  if (hex4) return `#${hex4[1]}`;
  const rgba = /^rgba\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c);
  if (rgba) return `rgb(${rgba[1]}, ${rgba[2]}, ${rgba[3]})`;
  return c;
}

/** Calls `fn` when VS Code switches the theme (it changes the body's classes and the CSS variables on <html>). */
export function onThemeChange(fn: () => void): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, 50);
  };
  const observer = new MutationObserver(fire);
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}
