/**
 * Words that, sent alone, take a customer off a session's lists. Carriers' standard English set (STOP, STOPALL,
 * UNSUBSCRIBE, CANCEL, END, QUIT), plus the usual words in German (STOPP, ABMELDEN), French (ARRET, ARRÊT after
 * accents are dropped, DESABONNER), Spanish (BAJA, ALTO), Portuguese (PARAR, SAIR) and Italian (DISISCRIVIMI).
 */
export const DEFAULT_OPTOUT_KEYWORDS = [
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'STOPP',
  'ABMELDEN',
  'ARRET',
  'DESABONNER',
  'BAJA',
  'ALTO',
  'PARAR',
  'SAIR',
  'DISISCRIVIMI',
];

/**
 * A text as keywords are compared: compatibility-decomposed with its combining marks dropped (Arrêt → Arret,
 * ＳＴＯＰ → STOP), lower-cased, punctuation around it and inside spaces removed, runs of spaces made one. "Stop!"
 * and " stop " match STOP; "please stop sending" does not: only the whole message counts.
 */
export const normalizeKeyword = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '')
    .replace(/\s+/gu, ' ');

/** Whether a message's whole text is one of `keywords` (case, accents and surrounding punctuation ignored). */
export const createKeywordMatcher = (keywords: readonly string[]) => {
  const set = new Set(keywords.map(normalizeKeyword).filter(Boolean));
  return (text: string) => set.size > 0 && set.has(normalizeKeyword(text));
};
