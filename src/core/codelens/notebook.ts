/**
 * Jupyter notebooks: a lens goes on the cell that trains. The code cells are read as one program (a cell may call
 * a `train()` another cell defines), and each lens is mapped back to its cell.
 */
import { detectTrainingEntrypointsSync, MAX_LENSES, type TrainingEntrypoint } from './detect';
import { initDetector } from './parser';

export interface NotebookCellEntrypoint extends TrainingEntrypoint {
  /** 0-based index of the cell among all the notebook's cells (markdown included). */
  cell: number;
  /** `line` is 0-based within the cell. */
}

/** A cell as the detection needs it: its text, and whether it is Python code. */
export interface NotebookCellSource {
  source: string;
  code: boolean;
}

/**
 * The lenses of a notebook, from its cells in order (`code: false` for markdown and cells in other languages).
 * IPython magics and shell lines (`%time`, `!pip install`) are harmless.
 */
export async function detectNotebookEntrypoints(
  cells: readonly NotebookCellSource[],
  maxLenses = MAX_LENSES,
): Promise<NotebookCellEntrypoint[]> {
  await initDetector();
  return detectNotebookEntrypointsSync(cells, maxLenses);
}

/** As detectNotebookEntrypoints, once `initDetector()` has finished. */
export function detectNotebookEntrypointsSync(
  cells: readonly NotebookCellSource[],
  maxLenses = MAX_LENSES,
): NotebookCellEntrypoint[] {
  const parts: string[] = [];
  const starts: { cell: number; line: number }[] = [];
  let line = 0;
  cells.forEach((c, cell) => {
    if (!c.code) return;
    // a cell-magic cell (%%bash, %%writefile) is not Python
    if (/^\s*%%(?!time|capture|timeit|prun)/.test(c.source)) return;
    const text = c.source.replace(/\r\n?/g, '\n');
    starts.push({ cell, line });
    parts.push(text);
    line += text.split('\n').length;
  });
  if (!parts.length) return [];
  const found = detectTrainingEntrypointsSync(parts.join('\n'), { notebook: true, maxLenses });
  return found.map((e) => {
    let k = starts.length - 1;
    while (k > 0 && starts[k].line > e.line) k--;
    return { ...e, cell: starts[k].cell, line: e.line - starts[k].line };
  });
}

/** The cells of an .ipynb file (nbformat 4): code cells are Python unless the notebook says another language. */
export function parseNotebook(json: string): NotebookCellSource[] {
  const nb = JSON.parse(json) as {
    cells?: { cell_type?: string; source?: string | string[]; metadata?: { vscode?: { languageId?: string } } }[];
    metadata?: { language_info?: { name?: string }; kernelspec?: { language?: string } };
  };
  const lang = (nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language ?? 'python').toLowerCase();
  return (nb.cells ?? []).map((c) => {
    const source = Array.isArray(c.source) ? c.source.join('') : (c.source ?? '');
    const cellLang = (c.metadata?.vscode?.languageId ?? lang).toLowerCase();
    return { source, code: c.cell_type === 'code' && cellLang === 'python' };
  });
}
