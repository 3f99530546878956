/**
 * A notebook run's cells in its detail: a small bar chart of each cell's energy (in the order they ran, an SVG drawn
 * with the theme's colours, one bar per cell with its figures as a tooltip) and a table of the cells (index, first
 * line, duration, energy, CO₂eq, CPU time, method). The record keeps the latest cells (bounded), so both are bounded.
 */
import { formatCo2, formatDuration, formatEnergy } from '../core/format';
import type { NotebookCellFootprint } from '../core/types';
import { h, replace } from './dom';
import { t } from './l10n';

const SVG = 'http://www.w3.org/2000/svg';
const CHART_W = 600;
const CHART_H = 90;

function methodLabel(m: string): string {
  return m === 'measured' ? t('measured') : m === 'modelled' ? t('modelled') : m === 'default' ? t('default') : m;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function cellTitle(c: NotebookCellFootprint): string {
  return t(
    'Cell {0}: {1}, {2} CO₂eq, {3} ({4})',
    c.index + 1,
    formatEnergy(c.energyKWh),
    formatCo2(c.emissionsKg),
    formatDuration(c.durationS),
    c.firstLine || t('(empty)'),
  );
}

/** One bar per cell, heights proportional to energy. */
function chart(cells: readonly NotebookCellFootprint[]): SVGSVGElement {
  const max = Math.max(...cells.map((c) => c.energyKWh), 0);
  const total = cells.reduce((s, c) => s + c.energyKWh, 0);
  const el = svg('svg', {
    class: 'cells-chart',
    viewBox: `0 0 ${CHART_W} ${CHART_H}`,
    preserveAspectRatio: 'none',
    role: 'img',
  });
  el.setAttribute(
    'aria-label',
    t('Energy of {0} cells, {1} in all; the largest {2}.', cells.length, formatEnergy(total), formatEnergy(max)),
  );
  const slot = CHART_W / Math.max(cells.length, 1);
  cells.forEach((c, i) => {
    const hgt = max > 0 ? Math.max(1, (c.energyKWh / max) * (CHART_H - 2)) : 1;
    const bar = svg('rect', {
      x: i * slot + slot * 0.1,
      y: CHART_H - hgt,
      width: Math.max(slot * 0.8, 0.5),
      height: hgt,
      class: c.success === false ? 'bar failed' : 'bar',
    });
    const title = svg('title', {});
    title.textContent = cellTitle(c);
    bar.append(title);
    el.append(bar);
  });
  return el;
}

/** Fills `container` with the cells of a notebook run; returns false when the run has none. */
export function renderCells(container: HTMLElement, cells: readonly NotebookCellFootprint[] | undefined): boolean {
  if (!cells?.length) {
    replace(container);
    return false;
  }
  const row = (c: NotebookCellFootprint) =>
    h(
      'tr',
      { class: c.success === false ? 'failed' : null },
      h('td', { class: 'num' }, c.index + 1),
      h('td', { class: 'first-line' }, h('code', null, c.firstLine || t('(empty)'))),
      h('td', { class: 'num' }, formatDuration(c.durationS)),
      h('td', { class: 'num' }, formatEnergy(c.energyKWh)),
      h('td', { class: 'num' }, formatCo2(c.emissionsKg)),
      h('td', { class: 'num' }, formatDuration(c.cpuSeconds)),
      h('td', null, h('span', { class: `method method-${c.method}` }, methodLabel(c.method))),
    );
  const col = (label: string, num = false) => h('th', { scope: 'col', class: num ? 'num' : null }, label);
  replace(
    container,
    h('div', { class: 'chart-box cells-box' }, chart(cells)),
    h(
      'p',
      { class: 'note' },
      t(
        "{0} cells, in the order they ran: each one's share of the kernel's samples inside its execution window (the kernel's idle use spread over time, its work to the cell that ran).",
        cells.length,
      ),
    ),
    h(
      'div',
      { class: 'table-scroll cells-scroll' },
      h(
        'table',
        { class: 'methods cells' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            col(t('Cell'), true),
            col(t('First line')),
            col(t('Duration'), true),
            col(t('Energy'), true),
            col(t('CO₂eq'), true),
            col(t('CPU time'), true),
            col(t('Method')),
          ),
        ),
        h('tbody', null, ...cells.map(row)),
      ),
    ),
  );
  return true;
}
