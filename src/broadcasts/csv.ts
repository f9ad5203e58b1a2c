import { HashsendError } from '../errors.js';

const invalidCsv = (message: string) => new HashsendError('invalid_csv', 400, message);

/**
 * Rows of RFC 4180 CSV: fields separated by commas, quoted with `"` when they hold a comma, quote or line break
 * (a quote inside doubled), lines ended by CRLF or LF. A byte-order mark at the start is dropped (Excel writes one).
 */
export const parseCsvRows = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    // A blank line (often the last one) is no recipient.
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[i++];
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') endRow();
    else if (c === '\r') {
      if (text[i + 1] !== '\n') endRow();
    } else field += c;
  }
  if (quoted) throw invalidCsv('the CSV ends inside a quoted field');
  if (field !== '' || row.length) endRow();
  return rows;
};

/** Where a CSV row came from, for error messages: its line in the file. */
export interface CsvRecipient {
  to: string;
  vars: Record<string, string>;
  line: number;
}

/**
 * A recipients CSV: a header row naming a `to` column (any case), every other column a variable for
 * `{{placeholders}}`. An empty cell is left out of the row's variables, so a placeholder that needs it is missing.
 */
export const parseRecipientsCsv = (text: string): CsvRecipient[] => {
  const [header, ...rows] = parseCsvRows(text);
  if (!header) throw invalidCsv('the CSV is empty: give a header row with a "to" column, then one row per recipient');
  const names = header.map((h) => h.trim());
  const toColumn = names.findIndex((h) => h.toLowerCase() === 'to');
  if (toColumn < 0) throw invalidCsv(`the CSV header has no "to" column (it has: ${names.slice(0, 20).join(', ')})`);
  return rows.map((cells, i) => {
    const vars: Record<string, string> = {};
    names.forEach((name, col) => {
      const value = cells[col]?.trim();
      if (col !== toColumn && name && value) vars[name] = value;
    });
    return { to: cells[toColumn]?.trim() ?? '', vars, line: i + 2 };
  });
};
