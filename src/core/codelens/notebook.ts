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
    const text = asPython(c.source.replace(/\r\n?/g, '\n'));
    if (text === undefined) return;
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

/** Cell magics whose body is Python. */
const PYTHON_CELL_MAGIC = /^\s*%%(?:time|capture|timeit|prun)\b/;
/** Cell magics whose body is shell commands. */
const SHELL_CELL_MAGIC = /^\s*%%(?:bash|sh|script\s+(?:ba)?sh|system)\b/;

/** A shell command as the Python call IPython makes of it (`!cmd` runs `get_ipython().system("cmd")`). */
function shellCall(indent: string, command: string): string {
  return `${indent}get_ipython().system("${command.replace(/\\(?!$)/g, '\\\\').replace(/"/g, '\\"')}")`;
}

/**
 * A cell's text as Python, line for line (lens lines map back unchanged): shell lines (`!python train.py`) and
 * `%run script.py` (which runs a Python script) become the calls that run them, as IPython does; other line magics
 * become comments; a `%%bash` cell's lines are shell lines; other cell magics (`%%writefile`) are not Python at all.
 * A shell line continued with a trailing backslash stays one string literal over its lines.
 */
export function asPython(cell: string): string | undefined {
  const lines = cell.split('\n');
  if (/^\s*%%/.test(cell) && !PYTHON_CELL_MAGIC.test(cell)) {
    if (!SHELL_CELL_MAGIC.test(cell)) return undefined;
    return ['#', ...lines.slice(1).map((l) => (l.trim() ? shellCall('', l) : l))].join('\n');
  }
  let continued = false;
  return lines
    .map((l) => {
      if (continued) {
        continued = l.endsWith('\\');
        return l.replace(/"/g, '\\"') + (continued ? '' : '")');
      }
      const m = /^(\s*)(?:!|%(?:sx|system)\s)(.*)$/.exec(l) ?? /^(\s*)%run\s+(?:-\w+\s+)*(.*)$/.exec(l);
      if (!m) {
        // `%time model.fit(X, y)` runs the statement; other line magics (`%matplotlib inline`) are comments here
        const timed = /^(\s*)%(?:time|timeit|prun)\s+(?:-\S+\s+)*(.*)$/.exec(l);
        if (timed) return timed[1] + timed[2];
        return /^\s*%/.test(l) ? l.replace(/%/, '#') : l;
      }
      const command = l.trimStart().startsWith('%run') ? `python ${m[2]}` : m[2];
      continued = command.endsWith('\\');
      const call = shellCall(m[1], command);
      return continued ? call.slice(0, -2) : call;
    })
    .join('\n');
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
