/**
 * The table of runs: sortable column headers (buttons with aria-sort), rows reachable from the keyboard (one tab
 * stop; arrows, Home/End, PageUp/PageDown change rows and pages; Enter or Space opens a run), filters and paging.
 * The host filters, sorts and pages; this renders the page it sends.
 */
import {
  PAGE_SIZES,
  RUN_SOURCES,
  RUN_STATUSES,
  type RunRow,
  type SortKey,
  type TablePage,
  type TableQuery,
} from '../core/view/table';
import { formatCo2, formatDuration, formatEnergy } from '../core/format';
import type { RunSource, RunStatus } from '../core/types';
import { runOutcome, shownExitCode, type RunOutcome } from '../core/view/labels';
import { formatWhen, formatWhenShort, sourceLabel } from './charts';
import { h, replace, text } from './dom';
import { t } from './l10n';

const nf = new Intl.NumberFormat();

export function statusLabel(s: RunOutcome): string {
  return s === 'running'
    ? t('running')
    : s === 'completed'
      ? t('completed')
      : s === 'failed'
        ? t('failed')
        : s === 'stopped'
          ? t('stopped')
          : t('interrupted');
}

const STATUS_ICON: Record<RunOutcome, string> = {
  running: '●',
  completed: '✓',
  failed: '✕',
  interrupted: '!',
  stopped: '■',
};

interface Column {
  key: SortKey;
  label: string;
  cls: string;
  /** first click sorts descending */
  desc: boolean;
}

function columns(): Column[] {
  return [
    { key: 'name', label: t('Run'), cls: 'col-run', desc: false },
    { key: 'startedAt', label: t('Started'), cls: 'col-when', desc: true },
    { key: 'durationS', label: t('Duration'), cls: 'col-duration num', desc: true },
    { key: 'energyKWh', label: t('Energy'), cls: 'col-energy num', desc: true },
    { key: 'emissionsKg', label: t('CO₂eq'), cls: 'col-co2 num', desc: true },
    { key: 'region', label: t('Region'), cls: 'col-region', desc: false },
    { key: 'source', label: t('Source'), cls: 'col-source', desc: false },
    { key: 'status', label: t('Status'), cls: 'col-status', desc: false },
  ];
}

/** "1–50 of 120 runs", with the history's total when filtered. */
function countLine(page: TablePage, filtered: boolean): string {
  const q = page.query;
  const from = page.matched ? q.page * q.pageSize + 1 : 0;
  const to = q.page * q.pageSize + page.rows.length;
  if (page.matched === 0)
    return filtered ? t('No run matches the filters ({0} in the history).', nf.format(page.total)) : '';
  return filtered
    ? page.matched === 1
      ? t('1 matching run ({0} in the history)', nf.format(page.total))
      : t(
          '{0}–{1} of {2} matching runs ({3} in the history)',
          nf.format(from),
          nf.format(to),
          nf.format(page.matched),
          nf.format(page.total),
        )
    : page.total === 1
      ? t('1 run')
      : from === to
        ? t('{0} of {1} runs', nf.format(from), nf.format(page.total))
        : t('{0}–{1} of {2} runs', nf.format(from), nf.format(to), nf.format(page.total));
}

export interface TableHandlers {
  query(q: Partial<TableQuery>): void;
  open(id: string): void;
}

export class RunsTable {
  readonly el: HTMLElement;
  private readonly search = h('input', {
    type: 'search',
    class: 'search',
    placeholder: t('Filter: name, command, region, folder…'),
    'aria-label': t('Filter runs by text'),
    'data-key': 'filter-text',
    spellcheck: 'false',
  });
  private readonly source = h('select', { 'aria-label': t('Filter by source'), 'data-key': 'filter-source' });
  private readonly status = h('select', { 'aria-label': t('Filter by status'), 'data-key': 'filter-status' });
  private readonly count = h('p', { class: 'count', role: 'status', 'aria-live': 'polite' });
  private readonly headRow = h('tr');
  private readonly tbody = h('tbody');
  private readonly table = h('table', { class: 'runs', id: 'runs-table' });
  private readonly empty = h('div', { class: 'empty', hidden: true });
  private readonly pageInfo = h('span', { class: 'page-info' });
  private readonly pageSize = h('select', { 'aria-label': t('Runs per page'), 'data-key': 'page-size' });
  private readonly nav: Record<'first' | 'prev' | 'next' | 'last', HTMLButtonElement>;
  private page?: TablePage;
  private query: TableQuery;
  /** where the focus goes once the page asked for from the keyboard is shown */
  private focusAfterRender: { page: number; where: 'first' | 'last' } | undefined;
  private selectedId: string | undefined;
  private typing: ReturnType<typeof setTimeout> | undefined;

  constructor(
    initial: TableQuery,
    private readonly handlers: TableHandlers,
  ) {
    this.query = initial;
    this.wireFilters(initial);
    this.buildTable();
    this.nav = this.pagerButtons();
    this.el = h(
      'section',
      { class: 'runs-section card', 'aria-labelledby': 'runs-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'runs-title' }, t('Runs')), this.count),
      h('div', { class: 'filters', role: 'search' }, this.search, this.source, this.status),
      h('div', { class: 'table-scroll' }, this.table),
      this.empty,
      h(
        'nav',
        { class: 'pager', 'aria-label': t('Pages') },
        this.nav.first,
        this.nav.prev,
        this.pageInfo,
        this.nav.next,
        this.nav.last,
        this.pageSize,
      ),
    );
  }

  /** The text filter (applied once typing pauses), the source and status filters and the page size. */
  private wireFilters(initial: TableQuery): void {
    this.search.value = initial.text;
    this.search.addEventListener('input', () => {
      if (this.typing) clearTimeout(this.typing);
      this.typing = setTimeout(() => {
        this.typing = undefined;
        this.handlers.query({ text: this.search.value, page: 0 });
      }, 150);
    });
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        this.focusRow(0);
      }
    });
    this.source.addEventListener('change', () =>
      this.handlers.query({ source: this.source.value as RunSource | 'all', page: 0 }),
    );
    this.status.addEventListener('change', () =>
      this.handlers.query({ status: this.status.value as RunStatus | 'all', page: 0 }),
    );
    for (const size of PAGE_SIZES) this.pageSize.append(h('option', { value: String(size) }, t('{0} per page', size)));
    this.pageSize.value = String(initial.pageSize);
    this.pageSize.addEventListener('change', () =>
      this.handlers.query({ pageSize: Number(this.pageSize.value) as TableQuery['pageSize'], page: 0 }),
    );
  }

  /** The sortable headers, the caption, and the rows' keyboard and click handling. */
  private buildTable(): void {
    for (const c of columns()) {
      const b = h(
        'button',
        { type: 'button', class: 'sort', 'data-key': `sort-${c.key}` },
        c.label,
        h('span', { class: 'arrow', 'aria-hidden': 'true' }),
      );
      b.addEventListener('click', () => {
        const same = this.query.sort === c.key;
        this.handlers.query({
          sort: c.key,
          dir: same ? (this.query.dir === 'asc' ? 'desc' : 'asc') : c.desc ? 'desc' : 'asc',
          page: 0,
        });
      });
      this.headRow.append(h('th', { scope: 'col', class: c.cls, 'data-col': c.key }, b));
    }
    this.table.append(
      h(
        'caption',
        { class: 'visually-hidden' },
        t(
          'Runs. Sort with the column buttons; in the rows, arrow keys move, Enter opens a run, Page Up and Page Down change pages.',
        ),
      ),
      h('thead', null, this.headRow),
      this.tbody,
    );
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
    this.tbody.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest('tr');
      if (tr?.dataset.id) {
        this.makeTabStop(tr);
        this.handlers.open(tr.dataset.id);
      }
    });
  }

  private pagerButtons(): Record<'first' | 'prev' | 'next' | 'last', HTMLButtonElement> {
    const navButton = (label: string, aria: string, key: string, go: () => number) => {
      const b = h(
        'button',
        { type: 'button', class: 'icon', 'aria-label': aria, title: aria, 'data-key': `page-${key}` },
        label,
      );
      b.addEventListener('click', () => this.handlers.query({ page: go() }));
      return b;
    };
    return {
      first: navButton('«', t('First page'), 'first', () => 0),
      prev: navButton('‹', t('Previous page'), 'prev', () => Math.max(0, this.query.page - 1)),
      next: navButton('›', t('Next page'), 'next', () =>
        Math.min((this.page?.pageCount ?? 1) - 1, this.query.page + 1),
      ),
      last: navButton('»', t('Last page'), 'last', () => (this.page?.pageCount ?? 1) - 1),
    };
  }

  /** The query the user has set (with the text still being typed). */
  current(): TableQuery {
    return this.query;
  }

  /** The query the table asks for; `showInInputs` also puts it in the filter text box. */
  setQuery(q: TableQuery, showInInputs = false): void {
    this.query = q;
    if (showInInputs && !this.typing) this.search.value = q.text;
  }

  render(page: TablePage, selectedId: string | undefined): void {
    this.page = page;
    this.selectedId = selectedId;
    const q = page.query;
    this.syncQuery(q);
    this.fillSelect(this.source, t('All sources'), RUN_SOURCES, page.facets.source, sourceLabel, this.query.source);
    this.fillSelect(this.status, t('All statuses'), RUN_STATUSES, page.facets.status, statusLabel, this.query.status);
    this.pageSize.value = String(this.query.pageSize);
    this.renderSortState(q);
    this.renderRows(page, selectedId);
    const filtered = Boolean(q.text.trim()) || q.source !== 'all' || q.status !== 'all';
    text(this.count, countLine(page, filtered));
    this.table.hidden = page.rows.length === 0;
    this.empty.hidden = page.rows.length > 0;
    if (!page.rows.length) this.renderEmpty(filtered);
    text(this.pageInfo, t('Page {0} of {1}', nf.format(q.page + 1), nf.format(page.pageCount)));
    this.nav.first.disabled = this.nav.prev.disabled = q.page <= 0;
    this.nav.next.disabled = this.nav.last.disabled = q.page >= page.pageCount - 1;
  }

  /** Takes the page the host clamped to, and shows the applied query (keeping what is being typed). */
  private syncQuery(q: TableQuery): void {
    // what the rows show (the input may hold text not applied yet)
    Object.assign(this.el.dataset, {
      text: q.text,
      source: q.source,
      status: q.status,
      sort: `${q.sort} ${q.dir}`,
      page: String(q.page),
    });
    // the host clamps the page; the rest is what the user chose (keep what is being typed)
    if (q.text === this.query.text && q.source === this.query.source && q.status === this.query.status)
      this.query = { ...this.query, page: q.page };
    if (document.activeElement !== this.search && this.search.value !== this.query.text && !this.typing)
      this.search.value = this.query.text;
  }

  private renderSortState(q: TableQuery): void {
    for (const th of this.headRow.children) {
      const key = (th as HTMLElement).dataset.col;
      const active = key === q.sort;
      th.setAttribute('aria-sort', active ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      const arrow = th.querySelector('.arrow');
      if (arrow) text(arrow, active ? (q.dir === 'asc' ? ' ▲' : ' ▼') : '');
    }
  }

  /** Replaces the rows, keeping the tab stop and the focus (on the same run, or at the same place). */
  private renderRows(page: TablePage, selectedId: string | undefined): void {
    const focusedRow = this.tbody.contains(document.activeElement)
      ? ((document.activeElement as HTMLElement).closest('tr') as HTMLTableRowElement | null)
      : null;
    const focusedId = focusedRow?.dataset.id;
    const focusedIndex = focusedRow ? this.rows().indexOf(focusedRow) : -1;
    const tabStopId = focusedId ?? (this.tbody.querySelector('tr[tabindex="0"]') as HTMLElement | null)?.dataset.id;
    replace(this.tbody, ...page.rows.map((r) => this.row(r)));
    const rows = this.rows();
    const stop =
      rows.find((r) => r.dataset.id === tabStopId) ?? rows.find((r) => r.dataset.id === selectedId) ?? rows[0];
    if (stop) stop.tabIndex = 0;
    const after = this.focusAfterRender;
    if (after && after.page === page.query.page && rows.length) {
      this.focusAfterRender = undefined;
      this.focusRow(after.where === 'first' ? 0 : rows.length - 1);
    } else if (focusedRow) {
      // keep the focus in the table: on the same run, or at the same place when the run left the page
      const same = rows.find((r) => r.dataset.id === focusedId);
      if (same) same.focus({ preventScroll: true });
      else if (rows.length) this.focusRow(Math.min(focusedIndex, rows.length - 1));
    }
  }

  /** An empty page: a button that clears the filters, or how to record a first run. */
  private renderEmpty(filtered: boolean): void {
    if (filtered) {
      const clear = h('button', { type: 'button', 'data-key': 'clear-filters' }, t('Clear the filters'));
      clear.addEventListener('click', () => {
        this.search.value = '';
        this.handlers.query({ text: '', source: 'all', status: 'all', page: 0 });
      });
      replace(this.empty, h('p', null, t('No run matches the filters.')), clear);
      return;
    }
    replace(
      this.empty,
      h('p', { class: 'empty-title' }, t('No runs yet.')),
      h(
        'p',
        null,
        t('Run a training script in the integrated terminal (for example python train.py), or meter it anywhere with '),
        h('code', null, 'carbon-meter run -- python train.py'),
        '.',
      ),
    );
  }

  private fillSelect<T extends string>(
    sel: HTMLSelectElement,
    allLabel: string,
    values: readonly T[],
    counts: Partial<Record<T, number>>,
    label: (v: T) => string,
    chosen: string,
  ): void {
    const options = [h('option', { value: 'all' }, allLabel)];
    for (const v of values) {
      const n = counts[v] ?? 0;
      if (!n && v !== chosen) continue;
      options.push(h('option', { value: v }, `${label(v)} (${nf.format(n)})`));
    }
    const same =
      sel.options.length === options.length &&
      options.every((o, i) => sel.options[i].value === o.value && sel.options[i].textContent === o.textContent);
    if (!same) replace(sel, ...options);
    sel.value = chosen;
  }

  private row(r: RunRow): HTMLTableRowElement {
    const outcome = runOutcome(r.status, r.exitCode);
    const code = shownExitCode(r.status, r.exitCode);
    const exit = code !== undefined ? ` (${code})` : '';
    const tr = h(
      'tr',
      {
        'data-id': r.id,
        'data-key': `row-${r.id}`,
        tabindex: '-1',
        class: `row status-${r.status}`,
        'aria-current': r.id === this.selectedId ? 'true' : null,
      },
      h(
        'td',
        { class: 'col-run' },
        // cut with an ellipsis when narrow: the full text is in the title
        h('span', { class: 'run-name', title: r.name }, r.name),
        h('span', { class: 'run-command', title: r.command }, r.command),
      ),
      h('td', { class: 'col-when', title: formatWhen(r.startedAt) }, formatWhenShort(r.startedAt)),
      h('td', { class: 'col-duration num' }, formatDuration(r.durationS)),
      h('td', { class: 'col-energy num' }, formatEnergy(r.energyKWh)),
      h('td', { class: 'col-co2 num' }, formatCo2(r.emissionsKg)),
      h(
        'td',
        {
          class: 'col-region',
          title: r.guessed
            ? t('guessed from the time zone')
            : r.regionDefault
              ? t('default: no region set, world average')
              : null,
        },
        r.region + (r.guessed ? ' ~' : ''),
      ),
      h('td', { class: 'col-source' }, h('span', { class: `source source-${r.source}` }, sourceLabel(r.source))),
      h(
        'td',
        { class: 'col-status' },
        h(
          'span',
          { class: `badge badge-${outcome === 'stopped' ? 'interrupted' : outcome}` },
          h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, STATUS_ICON[outcome]),
          statusLabel(outcome) + exit,
        ),
      ),
    );
    return tr;
  }

  private rows(): HTMLTableRowElement[] {
    return Array.from(this.tbody.rows);
  }

  private makeTabStop(tr: HTMLTableRowElement): void {
    for (const r of this.rows()) r.tabIndex = r === tr ? 0 : -1;
  }

  private focusRow(i: number): void {
    const rows = this.rows();
    const tr = rows[Math.max(0, Math.min(rows.length - 1, i))];
    if (!tr) return;
    this.makeTabStop(tr);
    tr.focus();
  }

  private onKey(e: KeyboardEvent): void {
    const tr = (e.target as HTMLElement).closest('tr');
    if (!tr) return;
    const rows = this.rows();
    const i = rows.indexOf(tr as HTMLTableRowElement);
    const pageCount = this.page?.pageCount ?? 1;
    switch (e.key) {
      case 'ArrowDown':
        if (i < rows.length - 1) this.focusRow(i + 1);
        else if (this.query.page < pageCount - 1) this.goToPage(this.query.page + 1, 'first');
        break;
      case 'ArrowUp':
        if (i > 0) this.focusRow(i - 1);
        else if (this.query.page > 0) this.goToPage(this.query.page - 1, 'last');
        else this.search.focus();
        break;
      case 'Home':
        this.focusRow(0);
        break;
      case 'End':
        this.focusRow(rows.length - 1);
        break;
      case 'PageDown':
        if (this.query.page < pageCount - 1) this.goToPage(this.query.page + 1, 'first');
        else this.focusRow(rows.length - 1);
        break;
      case 'PageUp':
        if (this.query.page > 0) this.goToPage(this.query.page - 1, 'first');
        else this.focusRow(0);
        break;
      case 'Enter':
      case ' ':
        if (tr.dataset.id) this.handlers.open(tr.dataset.id);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  private goToPage(page: number, where: 'first' | 'last'): void {
    this.focusAfterRender = { page, where };
    this.handlers.query({ page });
  }

  /** Focuses the row of a run if it is on this page. */
  focusRun(id: string): boolean {
    const tr = this.rows().find((r) => r.dataset.id === id);
    if (!tr) return false;
    this.makeTabStop(tr);
    tr.focus();
    return true;
  }
}
