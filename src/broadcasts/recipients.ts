import { HashsendError, isHashsendError } from '../errors.js';
import { toJid } from '../whatsapp/recipient.js';
import { placeholdersOf } from './template.js';

/** @default the most recipients one broadcast takes */
export const MAX_RECIPIENTS = 10_000;

export interface RecipientInput {
  to: string;
  vars?: Record<string, string>;
  /** The line of a CSV file it came from, for messages that point at it. */
  line?: number;
}

/** Where a recipient was in the list as given: `row` from 1, and the CSV line when it came from one. */
interface Place {
  row: number;
  line?: number;
}

export interface ListedRecipients {
  recipients: { to: string; vars?: Record<string, string> }[];
  duplicates: (Place & { to: string; firstRow: number })[];
  invalid: (Place & { to: string; message: string })[];
}

const placeOf = (row: number, line?: number): Place => ({ row, ...(line !== undefined ? { line } : {}) });
const where = ({ row, line }: Place) => (line !== undefined ? `row ${row} (line ${line})` : `recipient ${row}`);

/**
 * The list as it will be sent: each recipient's JID once, in the order given. Invalid numbers and repeats of a
 * JID are left out and listed. Every placeholder of the texts must have its variable in every row that stays:
 * otherwise `400 missing_variable` naming the first such row, before anything is stored or sent.
 */
export const listRecipients = (input: RecipientInput[], texts: (string | undefined)[]): ListedRecipients => {
  if (input.length > MAX_RECIPIENTS) {
    throw new HashsendError(
      'too_many_recipients',
      400,
      `a broadcast takes at most ${MAX_RECIPIENTS} recipients; this list has ${input.length}`,
    );
  }
  const needed = [...new Set(texts.flatMap(placeholdersOf))];
  const seen = new Map<string, number>();
  const out: ListedRecipients = { recipients: [], duplicates: [], invalid: [] };
  input.forEach(({ to, vars, line }, i) => {
    const place = placeOf(i + 1, line);
    let jid: string;
    try {
      jid = toJid(to);
    } catch (err) {
      if (!isHashsendError(err)) throw err;
      out.invalid.push({ ...place, to: to.slice(0, 64), message: err.message });
      return;
    }
    const first = seen.get(jid);
    if (first !== undefined) return void out.duplicates.push({ ...place, to: to.slice(0, 64), firstRow: first });
    seen.set(jid, place.row);
    const missing = needed.find((name) => !vars?.[name]);
    if (missing) {
      throw new HashsendError('missing_variable', 400, `${where(place)} (${to.slice(0, 64)}) has no value for {{${missing}}}`, {
        ...place,
        to: to.slice(0, 64),
        variable: missing,
      });
    }
    out.recipients.push({ to: jid, ...(vars && Object.keys(vars).length ? { vars } : {}) });
  });
  if (!out.recipients.length) {
    throw new HashsendError('no_recipients', 400, 'no valid recipient in the list', {
      invalid: out.invalid.length,
      duplicates: out.duplicates.length,
    });
  }
  return out;
};
