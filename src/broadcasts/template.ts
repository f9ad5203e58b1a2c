/** `{{name}}`, spaces inside the braces allowed; a name is letters, digits, `_`, `-` or `.`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The variable names a text uses, each once, in order of first use. */
export const placeholdersOf = (text: string | undefined): string[] =>
  text ? [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]))] : [];

/** The text with every placeholder replaced by its variable; the caller has checked that none is missing. */
export const fillPlaceholders = (text: string, vars: Record<string, string> | undefined): string =>
  text.replace(PLACEHOLDER, (_m, name: string) => vars?.[name] ?? '');
