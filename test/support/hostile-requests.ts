/**
 * Malformed and hostile requests made from an OpenAPI document: every operation gets odd path parameters, odd
 * query and header values, broken JSON, wrong types for each body property, huge and deep bodies, broken
 * multipart. A route added to `/openapi.json` is covered without a new test.
 */
import { multipartCases } from './hostile-multipart.js';
import { AUTH_CASES, CONTENT_TYPES, HEADERS, QUERY_VALUES, RAW_BODIES, SEGMENTS, WRONG_VALUES } from './hostile-values.js';

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
