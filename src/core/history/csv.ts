/**
 * RFC 4180 CSV, as written by pandas and Python's csv module and read by spreadsheets: fields separated by commas,
 * fields with commas, quotes or line breaks in double quotes, quotes doubled inside them. Reads CRLF, LF and CR
 * line ends and a UTF-8 byte-order mark.
 *
 * `CsvReader` parses text pushed in chunks of any size (a file read piecewise), holding only the record in progress,
 * so a large file is read in bounded memory; `parseCsv` is the same over one string.
 *
 * Cells are escaped against formula injection on the way out (OWASP "CSV Injection"): a text cell starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return (after any single quotes) gets a leading `'` and is quoted, so a
 * spreadsheet shows it as text; numbers are written as numbers. `unescapeCsvCell` removes exactly that quote again,
 * so an export read back gives the original text.
 */

export interface CsvRecord {
  /** the 1-based line on which the record starts */
  line: number;
  fields: string[];
}

export interface CsvParse {
  records: CsvRecord[];
  errors: { line: number; reason: string }[];
}

/** Splits CSV text into records. Blank lines are skipped. */
export function parseCsv(text: string): CsvParse {
  const reader = new CsvReader();
  const records = reader.push(text);
  records.push(...reader.end());
  return { records, errors: reader.errors };
}

/** An incremental CSV parser: `push` chunks, take the complete records each call returns, then `end`. */
export class CsvReader {
  readonly errors: { line: number; reason: string }[] = [];
  private rest = '';
  private line = 1;
  private started = false;
  private failed = false;

  /** Parses what can be parsed; a record cut by the chunk's end waits for the next chunk. */
  push(chunk: string): CsvRecord[] {
    if (this.failed) return [];
    let text = this.rest + chunk;
    if (!this.started && text.length) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return this.parse(text, false);
  }

  /** The last record (one without a line end), and the error of an unterminated quoted field. */
  end(): CsvRecord[] {
    if (this.failed) return [];
    const text = this.rest;
    this.rest = '';
    return this.parse(text, true);
  }

  private parse(text: string, final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const n = text.length;
    let pos = 0;
    // the next quote and CR at or after pos (-1: none left), kept across lines so each is searched once
    let q = -2;
    let cr = -2;
    while (pos < n) {
      const nl = text.indexOf('\n', pos);
      const stop = nl < 0 ? n : nl;
      if (nl < 0 && !final) break; // the rest of this record is in the next chunk
      // fast path: a line without quotes or lone CRs
      if (q !== -1 && q < pos) q = text.indexOf('"', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      if ((q < 0 || q > stop) && (cr < 0 || cr >= stop - 1)) {
        const end = cr >= 0 && cr === stop - 1 ? cr : stop;
        const l = text.slice(pos, end);
        if (l.length) out.push({ line: this.line, fields: l.split(',') });
        this.line++;
        pos = nl < 0 ? n : nl + 1;
        continue;
      }
      const r = this.slowRecord(text, pos, final);
      if (r === 'more') break;
      if (r === 'error') {
        this.failed = true;
        this.rest = '';
        return out;
      }
      if (r.fields) out.push({ line: r.line, fields: r.fields });
      pos = r.next;
    }
    this.rest = pos < n ? text.slice(pos) : '';
    return out;
  }

  /** One record with quotes or CR line ends, char by char. 'more': it is cut by the end of the chunk. */
  private slowRecord(
    text: string,
    start: number,
    final: boolean,
  ): { fields?: string[]; line: number; next: number } | 'more' | 'error' {
    const n = text.length;
    const recordLine = this.line;
    let line = this.line;
    const fields: string[] = [];
    let field = '';
    let atFieldStart = true;
    let i = start;
    while (i < n) {
      const c = text[i];
      if (atFieldStart && c === '"') {
        const quoteLine = line;
        i++;
        let closed = false;
        let from = i;
        while (i < n) {
          const d = text.charCodeAt(i);
          if (d === 0x22) {
            field += text.slice(from, i);
            if (text.charCodeAt(i + 1) === 0x22) {
              field += '"';
              i += 2;
              from = i;
              continue;
            }
            if (i + 1 >= n && !final) return 'more'; // a doubled quote may be split by the chunk
            i++;
            closed = true;
            break;
          }
          if (d === 0x0d) {
            // keep an embedded CRLF as a plain newline
            if (i + 1 >= n && !final) return 'more';
            field += text.slice(from, i) + '\n';
            i += text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
            from = i;
            line++;
            continue;
          }
          if (d === 0x0a) line++;
          i++;
        }
        if (!closed) {
          if (!final) return 'more';
          this.errors.push({ line: quoteLine, reason: 'unterminated quoted field' });
          return 'error';
        }
        atFieldStart = false;
        // characters between the closing quote and the next separator are kept, as Python's csv does
        continue;
      }
      if (c === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i++;
        continue;
      }
      if (c === '\r' || c === '\n') {
        if (c === '\r' && i + 1 >= n && !final) return 'more'; // CR, and maybe an LF in the next chunk
        fields.push(field);
        this.line = line + 1;
        const next = i + (c === '\r' && text[i + 1] === '\n' ? 2 : 1);
        return { fields: fields.length === 1 && fields[0] === '' ? undefined : fields, line: recordLine, next };
      }
      field += c;
      atFieldStart = false;
      i++;
    }
    if (!final) return 'more';
    fields.push(field);
    this.line = line + 1;
    return { fields: fields.length === 1 && fields[0] === '' ? undefined : fields, line: recordLine, next: n };
  }
}

/**
 * Text that a spreadsheet would run as a formula (after any quotes already added to escape one). A line feed is
 * included because a quoted CR reads back as one: escaping both keeps the round trip exact.
 */
const FORMULA_START = /^'*[=+\-@\t\r\n]/;

/** One CSV field: quoted when it holds a comma, a quote, a line break, or leading/trailing spaces; formulas escaped. */
export function csvField(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  if (FORMULA_START.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: (string | number | boolean | undefined | null)[]): string {
  return values.map(csvField).join(',');
}

/** Removes the quote `csvField` put before a formula-like cell, and nothing else. */
export function unescapeCsvCell(s: string): string {
  return s.charCodeAt(0) === 0x27 && FORMULA_START.test(s.slice(1)) ? s.slice(1) : s;
}
