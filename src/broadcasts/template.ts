import type { MessageInput } from '../messages/service.js';
import type { Broadcast } from './types.js';

/** `{{name}}`, spaces inside the braces allowed; a name is letters, digits, `_`, `-` or `.`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The variable names a text uses, each once, in order of first use. */
export const placeholdersOf = (text: string | undefined): string[] =>
  text ? [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]))] : [];

/** The text with every placeholder replaced by its variable; the caller has checked that none is missing. */
export const fillPlaceholders = (text: string, vars: Record<string, string> | undefined): string =>
  text.replace(PLACEHOLDER, (_m, name: string) => vars?.[name] ?? '');

/** The texts of a message that may hold placeholders: its text, its caption, or its template's text parameters. */
export const textsOf = (message: MessageInput): (string | undefined)[] =>
  'text' in message
    ? [message.text]
    : 'template' in message
      ? (message.template.components ?? []).flatMap((c) => (c.parameters ?? []).flatMap((p) => (p.type === 'text' ? [p.text] : [])))
      : [message.caption];

/** The broadcast's content for one recipient: its placeholders filled from the recipient's variables. */
export const personalise = (content: Broadcast['content'], vars: Record<string, string> | undefined): Broadcast['content'] => {
  if (content.type === 'text') return { ...content, text: fillPlaceholders(content.text, vars) };
  if (content.type === 'media') return content.caption ? { ...content, caption: fillPlaceholders(content.caption, vars) } : content;
  return {
    ...content,
    components: content.components.map((c) => ({
      ...c,
      parameters: c.parameters.map((p) => (p.type === 'text' ? { ...p, text: fillPlaceholders(p.text, vars) } : p)),
    })),
  };
};
