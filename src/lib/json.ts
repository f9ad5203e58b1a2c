/** Reading JSON from outside (Meta's webhooks, a journal on disk): its shape is checked by looking, never trusted. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The objects of an array field; anything else is none. */
export const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
export const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
