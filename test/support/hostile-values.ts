/** The odd values the hostile request generator (hostile-requests.ts) puts in each place of a request. */
const deep = (levels: number, open = '[', close = ']') => `${open.repeat(levels)}${close.repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** Odd path segments: traversal, NUL, bad percent-encoding, prototype keys, huge, unicode. */
export const SEGMENTS = [
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
export const WRONG_VALUES: unknown[] = [
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
export const RAW_BODIES: [string, string][] = [
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

export const CONTENT_TYPES = [
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
export const HEADERS: [string, string][] = [
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

export const AUTH_CASES: [string, Record<string, string>][] = [
  ['no key', {}],
  ['wrong key', { authorization: 'Bearer wrong' }],
  ['empty bearer', { authorization: 'Bearer ' }],
  ['basic auth', { authorization: 'Basic Og==' }],
];

export const QUERY_VALUES = ['abc', '-1', '0', '1e309', '99999999999999999999', '', '%zz', '__proto__', 'x'.repeat(3000)];
