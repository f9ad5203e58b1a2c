/**
 * Malformed and hostile requests made from an OpenAPI document: every operation gets odd path parameters, odd
 * query and header values, broken JSON, wrong types for each body property, huge and deep bodies, broken
 * multipart. A route added to `/openapi.json` is covered without a new test.
 */
import { multipartCases } from './hostile-multipart.js';

export interface HostileRequest {
  /** What is odd about it, for the failure message. */
  label: string;
  method: string;
  /** Sent as is (no URL normalisation): `..` and `%00` reach the server. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  example?: unknown;
  format?: string;
  minimum?: number;
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface HostileOptions {
  /** A value that exists for a path parameter (a session id, a sha256), or undefined for a missing one. */
  pathValue(route: string, param: string, method: string): string | undefined;
  /** Headers every request carries unless a case removes them (the API key). */
  auth: Record<string, string>;
}

const deep = (levels: number, open = '[', close = ']') => `${open.repeat(levels)}${close.repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** Odd path segments: traversal, NUL, bad percent-encoding, prototype keys, huge, unicode. */
const SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  'a%00b',
  '%',
  '%zz',
  '%C0%AE',
  'x'.repeat(5000),
  '9'.repeat(400),
  encodeURIComponent('ünï🙂'),
  encodeURIComponent('\u202e\u0000\ufffe'),
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'prototype',
  encodeURIComponent("'; DROP TABLE x;--"),
  encodeURIComponent('<script>alert(1)</script>'),
  '%20',
  'null',
  'undefined',
  'NaN',
  '-1',
  'A'.repeat(64),
  'f'.repeat(64),
  'f'.repeat(64) + '.jpg',
];

/** Values of the wrong type, or the right type at an absurd size, for any one property. */
const WRONG_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e308,
  true,
  '',
  ' ',
  'x'.repeat(70_000),
  '\u0000',
  '../../etc/passwd',
  '🙂'.repeat(2000),
  [],
  ['a', 1],
  {},
  // Parsed, not written as a literal: a literal `__proto__` sets the prototype instead of making a key.
  JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  'constructor',
  '__proto__',
];

/** Raw JSON texts that are broken, or valid but of the wrong shape, or bombs. */
const RAW_BODIES: [string, string][] = [
  ['empty', ''],
  ['cut off', '{"a":'],
  ['open brace', '{'],
  ['bare word', 'nul'],
  ['trailing garbage', '{"a":1}{"b":2}'],
  ['single quotes', "{'a':1}"],
  ['NaN', '{"a":NaN}'],
  ['lone surrogate', '{"a":"\\ud800"}'],
  ['array', '[]'],
  ['string', '"text"'],
  ['number', '42'],
  ['null', 'null'],
  ['BOM', '\ufeff{}'],
  ['3,000 nested arrays', deep(3000)],
  ['3,000 nested objects', deepObject(3000)],
  ['100,000 nested arrays', deep(100_000)],
  ['__proto__ key', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'],
  ['100,000 keys', `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',')}}`],
  ['2 MB string', `{"a":"${'x'.repeat(2_000_000)}"}`],
];

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'application/json; charset="',
  'application/',
  ';;;',
];

const RANGES = [
  'bytes=0-1',
  'items=0-1',
  'bytes=',
  'bytes=-',
  'bytes=5-1',
  'bytes=-0',
  'bytes=0-0,'.repeat(500),
  'bytes=99999999999999999999-',
  'bytes=-99999999999999999999',
  'bytes=abc',
  'bytes=0-1,2-3',
  'bytes=1-0,0-1',
];

/** Header values on every route: ranges, content negotiation, conditional requests, resumption, ids. */
const HEADERS: [string, string][] = [
  ...RANGES.map((r): [string, string] => ['range', r]),
  ['accept', 'image/png'],
  ['accept', 'text/event-stream'],
  ['accept', '*/*;q=abc, x/y;q=-1'],
  ['accept', 'a/b,'.repeat(1000)],
  ['if-none-match', '*'],
  ['if-none-match', '"'],
  ['last-event-id', '__proto__'],
  ['last-event-id', '-1'],
  ['last-event-id', '99999999999999999999999'],
  ['last-event-id', 'x'.repeat(4000)],
  ['x-request-id', 'x'.repeat(4000)],
  ['x-content-sha256', 'zz'],
  ['content-encoding', 'gzip'],
  ['content-encoding', 'bogus'],
];

const AUTH_CASES: [string, Record<string, string>][] = [
  ['no key', {}],
  ['wrong key', { authorization: 'Bearer wrong' }],
  ['empty bearer', { authorization: 'Bearer ' }],
  ['basic auth', { authorization: 'Basic Og==' }],
];

const QUERY_VALUES = ['abc', '-1', '0', '1e309', '99999999999999999999', '', '%zz', '__proto__', 'x'.repeat(3000)];

export const hostileRequests = (doc: OpenApiDocument, { pathValue, auth }: HostileOptions): HostileRequest[] => {
  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (!schema?.$ref) return schema;
    return doc.components?.schemas?.[schema.$ref.split('/').pop() ?? ''];
  };
  const cases: HostileRequest[] = [];
  for (const [route, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const params = op.parameters ?? [];
      const pathFor = (overrides: Record<string, string> = {}) =>
        route.replace(
          /\{(\w+)\}/g,
          (_m, name: string) => overrides[name] ?? pathValue(route, name, method.toUpperCase()) ?? 'missing-value',
        );
      const content = op.requestBody?.content ?? {};
      const jsonSchema = resolve(content['application/json']?.schema);
      const base = jsonSchema ? sampleOf(jsonSchema, resolve) : undefined;
      const M = method.toUpperCase();
      const canHaveBody = M !== 'GET' && M !== 'HEAD';
      const jsonHeaders = { ...auth, 'content-type': 'application/json' };
      const add = (label: string, init: Partial<HostileRequest> = {}) =>
        cases.push({
          label: `${M} ${route}: ${label}`,
          method: M,
          path: pathFor(),
          headers: base !== undefined && canHaveBody ? jsonHeaders : { ...auth },
          ...(base !== undefined && canHaveBody ? { body: JSON.stringify(base) } : {}),
          ...init,
        });

      for (const p of params.filter((x) => x.in === 'path'))
        for (const segment of SEGMENTS) add(`path ${p.name}=${segment.slice(0, 40)}`, { path: pathFor({ [p.name]: segment }) });
      for (const p of params.filter((x) => x.in === 'query')) {
        for (const value of QUERY_VALUES) add(`query ${p.name}=${value.slice(0, 40)}`, { path: `${pathFor()}?${p.name}=${value}` });
        add(`query ${p.name} twice`, { path: `${pathFor()}?${p.name}=1&${p.name}=2` });
        add(`query ${p.name}[a]`, { path: `${pathFor()}?${p.name}[a]=1&${p.name}[__proto__][x]=1` });
      }
      add('query __proto__', { path: `${pathFor()}?__proto__[polluted]=1&constructor[prototype][polluted]=1` });
      for (const p of params.filter((x) => x.in === 'header'))
        for (const value of ['', ' ', 'x'.repeat(300), 'a b', '\t', 'Ã¤'])
          add(`header ${p.name}=${JSON.stringify(value.slice(0, 20))}`, { headers: { ...jsonHeaders, [p.name]: value } });
      for (const [name, value] of HEADERS) add(`header ${name}: ${value.slice(0, 40)}`, { headers: { ...auth, [name]: value } });
      for (const [label, headers] of AUTH_CASES) add(label, { headers });

      if (!canHaveBody) continue;
      for (const [label, raw] of RAW_BODIES) {
        add(`body ${label}`, { headers: jsonHeaders, body: raw });
        if (/nested/.test(label))
          add(`body ${label} with an Idempotency-Key`, { headers: { ...jsonHeaders, 'idempotency-key': `k-${cases.length}` }, body: raw });
      }
      add('body invalid UTF-8', { headers: jsonHeaders, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) });
      add('body not gzip', { headers: { ...jsonHeaders, 'content-encoding': 'gzip' }, body: '{}' });
      for (const type of CONTENT_TYPES)
        add(`content-type ${type}`, { headers: { ...auth, 'content-type': type }, body: JSON.stringify(base ?? {}) });
      if (jsonSchema && base && typeof base === 'object') {
        for (const [where, mutated] of mutations(jsonSchema, base as Record<string, unknown>, resolve))
          add(`body ${where}`, { headers: jsonHeaders, body: mutated });
      }
      if (content['multipart/form-data'])
        for (const c of multipartCases()) add(`multipart ${c.label}`, { headers: { ...auth, ...c.headers }, body: c.body });
      if (content['application/octet-stream'])
        for (const [label, body, type] of [
          ['empty', '', 'application/octet-stream'],
          ['one byte', 'x', 'application/octet-stream'],
          ['truncated JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'image/jpeg'],
          ['GIF header only', 'GIF89a', 'image/gif'],
          ['SVG with script', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/svg+xml'],
        ] as [string, string | Buffer, string][])
          add(`upload ${label}`, { headers: { ...auth, 'content-type': type }, body });
    }
  }
  return cases;
};

/** A value the schema accepts: its example where there is one, any URL made to point nowhere reachable. */
const sampleOf = (schema: Schema, resolve: (s: Schema | undefined) => Schema | undefined): unknown => {
  const s = resolve(schema) ?? {};
  const value =
    s.example ??
    ((s.anyOf ?? s.oneOf)
      ? sampleOf((s.anyOf ?? s.oneOf)![0], resolve)
      : s.enum
        ? s.enum[0]
        : s.type === 'object'
          ? Object.fromEntries((s.required ?? []).map((k) => [k, sampleOf(s.properties?.[k] ?? {}, resolve)]))
          : s.type === 'array'
            ? [sampleOf(s.items ?? {}, resolve)]
            : s.type === 'integer' || s.type === 'number'
              ? (s.minimum ?? 1)
              : s.type === 'boolean'
                ? true
                : 'x');
  // Loopback port 9 (discard): refused by the SSRF guard or at once by the kernel, never a real fetch or a DNS wait.
  return JSON.parse(JSON.stringify(value), (_k, v) => (typeof v === 'string' && /^https?:\/\//.test(v) ? 'http://127.0.0.1:9/x' : v));
};

/** Per property (nested objects too, and each branch of a union): each wrong value, the key left out, an extra key. */
const mutations = (
  schema: Schema,
  base: Record<string, unknown>,
  resolve: (s: Schema | undefined) => Schema | undefined,
): [string, string][] => {
  const out: [string, string][] = [];
  const walk = (s: Schema | undefined, value: Record<string, unknown>, path: string[], depth: number) => {
    const r = resolve(s);
    if (!r || depth > 3) return;
    for (const branch of r.anyOf ?? r.oneOf ?? []) {
      const sample = sampleOf(branch, resolve);
      if (sample && typeof sample === 'object' && !Array.isArray(sample)) walk(branch, sample as Record<string, unknown>, path, depth + 1);
    }
    const at = (v: Record<string, unknown>) => JSON.stringify(path.length ? setPath(base, path, v) : v);
    for (const key of Object.keys(r.properties ?? {})) {
      for (const wrong of WRONG_VALUES)
        out.push([`${[...path, key].join('.')} = ${JSON.stringify(wrong)?.slice(0, 30)}`, at({ ...value, [key]: wrong })]);
      // Alone as well: with the example's other values a create may stop at `409 exists` before reaching the odd one.
      for (const name of ['constructor', '__proto__', 'toString'])
        out.push([`${[...path, key].join('.')} = ${name}, alone`, at({ [key]: name })]);
      const { [key]: _gone, ...without } = value;
      out.push([`${[...path, key].join('.')} missing`, at(without)]);
      const child = value[key];
      if (child && typeof child === 'object' && !Array.isArray(child))
        walk(r.properties?.[key], child as Record<string, unknown>, [...path, key], depth + 1);
    }
    out.push([`${path.join('.') || 'body'} with an unknown key`, at({ ...value, unknownKey: 1 })]);
  };
  walk(schema, base, [], 0);
  return out;
};

const setPath = (root: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> => {
  const [head, ...rest] = path;
  return { ...root, [head]: rest.length ? setPath((root[head] ?? {}) as Record<string, unknown>, rest, value) : value };
};
