/**
 * A chart's keyboard path: the canvas is a tab stop (role="application", its aria-label the chart's summary); the
 * arrow keys, Home/End and PageUp/PageDown move between its points (core/view/chartNav.ts), the focused point shows
 * the hover tooltip and its figures are announced in a polite aria-live region; Enter runs the chart's action (the
 * runs chart opens the run). Listeners only: nothing inline, so the strict CSP holds.
 */
import type { ActiveDataPoint, Chart } from 'chart.js';
import { nextPointIndex } from '../core/view/chartNav';
import { h } from './dom';
import { t } from './l10n';

export interface ChartPoints {
  /** the chart drawn now (undefined before the first update) */
  chart(): Chart | undefined;
  /** points the keyboard visits */
  count(): number;
  /** the chart's elements for the i-th point (the tooltip shows them) */
  elements(i: number): ActiveDataPoint[];
  /** the sentence announced for the i-th point */
  describe(i: number): string;
  /** Enter on the i-th point */
  activate?(i: number): void;
}

export class ChartKeys {
  /** the polite live region that announces the focused point; place it next to the chart */
  readonly live: HTMLElement;
  /** the hint the canvas is described by */
  readonly hint: HTMLElement;
  private index = -1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly points: ChartPoints,
    hintText: string,
  ) {
    const id = canvas.id || 'chart';
    this.live = h('p', { class: 'visually-hidden chart-live', id: `${id}-live`, 'aria-live': 'polite' });
    this.hint = h('p', { class: 'visually-hidden', id: `${id}-hint` }, hintText);
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'application');
    canvas.setAttribute('aria-roledescription', t('chart'));
    canvas.setAttribute('aria-describedby', this.hint.id);
    canvas.addEventListener('keydown', (e) => this.onKey(e));
    canvas.addEventListener('blur', () => this.show(-1));
    canvas.addEventListener('focus', () => {
      if (this.index >= 0) this.show(this.index);
    });
  }

  /**
   * After the chart's data changed: keep the focused point if it still exists (a live update) and show it again when
   * the chart has the focus; `restart` (another run's chart) starts again from no point.
   */
  refresh(restart = false): void {
    if (restart || this.index >= this.points.count()) this.index = -1;
    this.canvas.dataset.focusIndex = String(this.index);
    if (document.activeElement === this.canvas && this.index >= 0) this.show(this.index);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'Enter' && this.index >= 0 && this.points.activate) {
      e.preventDefault();
      this.points.activate(this.index);
      return;
    }
    if (e.key === 'Escape' && this.index >= 0) {
      // hide the tooltip; a second Escape reaches the panel (it closes an open run)
      e.preventDefault();
      e.stopPropagation();
      this.index = -1;
      this.canvas.dataset.focusIndex = '-1';
      this.show(-1);
      return;
    }
    const next = nextPointIndex(e.key, this.index, this.points.count());
    if (next === undefined) return;
    e.preventDefault();
    this.index = next;
    this.canvas.dataset.focusIndex = String(next);
    this.show(next);
    const text = this.points.describe(next);
    // the same text twice is not announced again by some screen readers: clear, then set
    this.live.textContent = '';
    this.live.textContent = text;
  }

  /** Shows the i-th point as hovered, with its tooltip; -1 hides it. */
  private show(i: number): void {
    const chart = this.points.chart();
    if (!chart) return;
    const active = i >= 0 ? this.points.elements(i) : [];
    const first = active[0];
    const el = first ? chart.getDatasetMeta(first.datasetIndex).data[first.index] : undefined;
    chart.setActiveElements(active);
    chart.tooltip?.setActiveElements(active, { x: el?.x ?? 0, y: el?.y ?? 0 });
    chart.update('none');
  }
}
