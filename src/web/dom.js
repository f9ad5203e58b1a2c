// Building the page: elements from plain values (text only, never markup), toasts, and how errors are shown.
import { ApiError } from './api.js';

export const $ = (id) => document.getElementById(id);

/** Builds an element: `h('p', { class: 'x' }, 'text', child)`. Strings become text nodes, never markup. */
export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined || value === null) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'value' || name === 'checked') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  fill(el, children, { append: true });
  return el;
};

/** Puts `children` in `el` (in place of what it held), as `h` does: absent ones (null, false) are left out. */
export const fill = (el, children, { append = false } = {}) => {
  const nodes = [children]
    .flat(Infinity)
    .filter((c) => c !== undefined && c !== null && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  if (append) el.append(...nodes);
  else el.replaceChildren(...nodes);
};

/** A labelled form field: the label, the control, and a help line the control can point at (`<id>-help`). */
export const field = (id, label, control, help) =>
  h('div', { class: 'field' }, h('label', { for: id }, label), control, help ? h('p', { class: 'help', id: `${id}-help` }, help) : null);

/** A label with a quiet "optional" after it. */
export const optional = (label) => h('span', {}, label, ' ', h('span', { class: 'optional' }, 'optional'));

export const toast = (message, kind = 'info') => {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  $('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3500);
};

export const copyIcon = () => {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M5 5h8v9H5zM3 11V2h8');
  svg.append(path);
  return svg;
};

export const copy = async (text, message) => {
  try {
    await navigator.clipboard.writeText(text);
    toast(message);
  } catch {
    toast('Copying is not allowed here; select the text instead.', 'error');
  }
};

export const describeError = (err) =>
  err instanceof ApiError ? (err.code && err.status ? `${err.message} (${err.code})` : err.message) : String(err?.message ?? err);

export const showFormError = (el, err) => {
  el.textContent = err ? describeError(err) : '';
  el.hidden = !err;
};

/** A toast for an error nobody else shows; a refused key already took the page back to its sign-in. */
export const reportError = (err) => {
  if (err?.name === 'AbortError') return;
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
  toast(describeError(err), 'error');
};

/** Runs a button's action with the button disabled meanwhile; a success message as a toast, an error too. */
export const runAction = async (button, action, done) => {
  button.disabled = true;
  try {
    await action();
    if (done) toast(done);
  } catch (err) {
    reportError(err);
  } finally {
    button.disabled = false;
  }
};

/** Shows one field's problem under it, named by the control (aria-invalid, aria-describedby); none clears it. */
const setFieldError = (control, message) => {
  const holder = control.closest('.field') ?? control.parentElement;
  const id = `${control.id}-error`;
  let el = holder.querySelector(`#${CSS.escape(id)}`);
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((d) => d && d !== id);
  if (!message) {
    el?.remove();
    control.removeAttribute('aria-invalid');
    if (described.length) control.setAttribute('aria-describedby', described.join(' '));
    else control.removeAttribute('aria-describedby');
    return;
  }
  el ??= holder.appendChild(h('p', { class: 'field-error', id }));
  el.textContent = message;
  control.setAttribute('aria-invalid', 'true');
  control.setAttribute('aria-describedby', [...described, id].join(' '));
};

/**
 * A 400's `details.issues` shown next to the controls their paths name (`{ 'options.phoneNumberId': input }`);
 * no error clears them. True when every issue found its control, so the form's own error can stay short.
 */
export const showFieldErrors = (controls, err) => {
  for (const control of Object.values(controls)) setFieldError(control, undefined);
  const issues = err instanceof ApiError && Array.isArray(err.details?.issues) ? err.details.issues : [];
  const messages = new Map();
  for (const issue of issues) {
    if (!controls[issue.path]) continue;
    messages.set(issue.path, [...(messages.get(issue.path) ?? []), issue.message]);
  }
  for (const [path, list] of messages) setFieldError(controls[path], list.join('; '));
  return issues.length > 0 && issues.every((i) => controls[i.path]);
};
