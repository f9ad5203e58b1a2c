/** Reading Meta's JSON, which is validated at the edge by looking, never by trusting its shape. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The objects of an array field; anything else is none. */
export const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
export const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
