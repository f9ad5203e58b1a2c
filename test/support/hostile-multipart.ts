/** Broken `multipart/form-data` bodies: bad or missing boundaries, cut-off parts, too many parts, odd part headers. */
export interface MultipartCase {
  label: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

const B = 'hostile-boundary';
const type = (boundary = B) => ({ 'content-type': `multipart/form-data; boundary=${boundary}` });
const part = (headers: string, data: string) => `--${B}\r\n${headers}\r\n\r\n${data}\r\n`;
const file = (data = 'GIF89a', name = 'file', filename = 'a.gif') =>
  part(`Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/gif`, data);
const end = `--${B}--\r\n`;

export const multipartCases = (): MultipartCase[] => [
  { label: 'no boundary', headers: { 'content-type': 'multipart/form-data' }, body: file() + end },
  { label: 'empty boundary', headers: { 'content-type': 'multipart/form-data; boundary=' }, body: file() + end },
  { label: 'unterminated quoted boundary', headers: { 'content-type': 'multipart/form-data; boundary="abc' }, body: file() + end },
  { label: 'boundary of 200 characters', headers: type('b'.repeat(200)), body: file() + end },
  { label: 'boundary with a semicolon', headers: { 'content-type': 'multipart/form-data; boundary=a;b;;charset=x' }, body: file() + end },
  { label: 'multipart/mixed', headers: { 'content-type': `multipart/mixed; boundary=${B}` }, body: file() + end },
  { label: 'body without the boundary', headers: type(), body: 'no parts here at all' },
  { label: 'empty body', headers: type(), body: '' },
  {
    label: 'cut off inside the file',
    headers: type(),
    body: `--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.gif"\r\n\r\nGIF8`,
  },
  { label: 'cut off inside part headers', headers: type(), body: `--${B}\r\nContent-Disposition: form-da` },
  { label: 'no closing boundary', headers: type(), body: file() },
  { label: 'fields only', headers: type(), body: part('Content-Disposition: form-data; name="sha256"', 'abc') + end },
  { label: 'two files', headers: type(), body: file() + file('GIF89a', 'file2') + end },
  { label: 'part without Content-Disposition', headers: type(), body: part('Content-Type: image/gif', 'GIF89a') + end },
  { label: 'part header of 100 KB', headers: type(), body: part(`X-Big: ${'x'.repeat(100_000)}`, 'GIF89a') + end },
  {
    label: '50 fields',
    headers: type(),
    body: Array.from({ length: 50 }, (_, i) => part(`Content-Disposition: form-data; name="f${i}"`, 'v')).join('') + file() + end,
  },
  { label: 'traversal file name', headers: type(), body: file('GIF89a', 'file', '../../../etc/passwd') + end },
  { label: '__proto__ field', headers: type(), body: part('Content-Disposition: form-data; name="__proto__"', 'x') + file() + end },
  { label: 'sha256 field garbage', headers: type(), body: part('Content-Disposition: form-data; name="sha256"', 'zz') + file() + end },
  {
    label: 'invalid UTF-8 in part headers',
    headers: type(),
    body: Buffer.concat([
      Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`"\r\n\r\nGIF89a\r\n${end}`),
    ]),
  },
  { label: 'empty file', headers: type(), body: file('') + end },
];
