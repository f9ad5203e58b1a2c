// A recipients CSV read in the browser, only to preview a broadcast: the server parses the file again and is the
// judge of what is valid. Same rules as the server's (src/broadcasts/csv.ts, template.ts).

/** RFC 4180 rows: quoted fields may hold commas, quotes (doubled) and line breaks; a leading BOM is dropped. */
export const parseCsvRows = (text) => {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
  };
  for (let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[i++];
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) endRow();
    else if (c !== '\r') field += c;
  }
  if (quoted) throw new Error('The CSV ends inside a quoted field.');
  if (field !== '' || row.length) endRow();
  return rows;
};

/** `{ columns, recipients: [{ to, vars, line }] }`; a header row with a `to` column (any case) is required. */
export const parseRecipients = (text) => {
  const [header, ...rows] = parseCsvRows(text);
  if (!header) throw new Error('The CSV is empty: it needs a header row with a "to" column, then one row per recipient.');
  const columns = header.map((c) => c.trim());
  const toColumn = columns.findIndex((c) => c.toLowerCase() === 'to');
  if (toColumn < 0) throw new Error(`The CSV header has no "to" column (it has: ${columns.slice(0, 20).join(', ')}).`);
  const recipients = rows.map((cells, i) => {
    const vars = {};
    columns.forEach((name, col) => {
      const value = cells[col]?.trim();
      if (col !== toColumn && name && value) vars[name] = value;
    });
    return { to: cells[toColumn]?.trim() ?? '', vars, line: i + 2 };
  });
  return { columns, recipients };
};

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The variable names a text uses, each once. */
export const placeholdersOf = (text) => (text ? [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]))] : []);

/** The text cut into literal strings and `{ name, value }` parts, so a preview can mark what is missing. */
export const fillParts = (text, vars) => {
  const parts = [];
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    parts.push({ name: m[1], value: vars[m[1]] });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
};
