/**
 * RFC 4180 CSV, as written by pandas and Python's csv module and read by spreadsheets: fields separated by commas,
 * fields with commas, quotes or line breaks in double quotes, quotes doubled inside them. Reads CRLF, LF and CR
 * line ends and a UTF-8 byte-order mark.
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
  const records: CsvRecord[] = [];
  const errors: CsvParse['errors'] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let atFieldStart = true;

  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    atFieldStart = true;
  };

  while (i < n) {
    const c = text[i];
    if (atFieldStart && c === '"') {
      // quoted field
      const quoteLine = line;
      i++;
      let closed = false;
      while (i < n) {
        const d = text[i];
        if (d === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        if (d === '\r') {
          // keep an embedded CRLF as a plain newline
          field += '\n';
          i += text[i + 1] === '\n' ? 2 : 1;
          line++;
          continue;
        }
        if (d === '\n') line++;
        field += d;
        i++;
      }
      if (!closed) {
        errors.push({ line: quoteLine, reason: 'unterminated quoted field' });
        fields = [];
        field = '';
        atFieldStart = true;
        return { records, errors };
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
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    if (atFieldStart && fields.length === 0 && field === '') recordLine = line;
    field += c;
    atFieldStart = false;
    i++;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return { records, errors };
}

/** One CSV field: quoted when it holds a comma, a quote, a line break, or leading/trailing spaces. */
export function csvField(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: (string | number | boolean | undefined | null)[]): string {
  return values.map(csvField).join(',');
}
