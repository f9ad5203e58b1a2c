// The options of a Cloud API session as form fields, for creating one and for giving it a new token. The token
// and the app secret only ever leave these inputs in a request body: the inputs have no `name` (a form sent
// without the script would put nothing in the URL), nothing stores them, and `clearSecrets` empties them.
import { field, h } from './dom.js';

/** A verify token the operator can keep: 144 random bits, URL-safe, easy to paste into Meta's dashboard. */
export const randomVerifyToken = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_');
};

export const MEDIA_MODES = {
  upload: 'Upload, sent by media id',
  link: 'Link: Meta fetches /m/<sha256>',
};

/** `prefix` keeps the ids apart when two sets are on the page (the create form and a session's card). */
export const cloudFields = (prefix) => {
  const id = (name) => `${prefix}-${name}`;
  const text = (name, attrs = {}) =>
    h('input', { id: id(name), type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id(name)}-help`, ...attrs });
  const phoneNumberId = text('pnid', { inputmode: 'numeric', placeholder: 'e.g. 106540352242922' });
  const accessToken = text('token', { type: 'password' });
  const appSecret = text('secret', { type: 'password' });
  const verifyToken = text('verify', { value: randomVerifyToken(), maxlength: 200 });
  const mediaMode = h(
    'select',
    { id: id('media'), 'aria-describedby': `${id('media')}-help` },
    Object.entries(MEDIA_MODES).map(([value, label]) => h('option', { value }, label)),
  );

  const kept = [
    field(id('pnid'), 'Phone number id', phoneNumberId, 'WhatsApp Manager → API Setup: the id of the number, not the number.'),
    field(id('verify'), 'Verify token', verifyToken, 'Meta’s webhook setup asks for it; keep this one or choose your own.'),
    field(id('media'), 'Media', mediaMode, 'Upload sends each file to Meta once. Link needs PUBLIC_MEDIA and PUBLIC_URL here.'),
  ];
  const secrets = [
    field(id('token'), 'Access token', accessToken, 'A system user token with whatsapp_business_messaging. Never shown again.'),
    field(id('secret'), 'App secret', appSecret, 'App settings → Basic. Checks the signature of every webhook from Meta.'),
  ];

  let known;
  return {
    el: h('div', { class: 'stack cloud-fields' }, kept[0], secrets, kept.slice(1)),
    /** The controls by the path a 400 names them with. */
    controls: {
      'options.phoneNumberId': phoneNumberId,
      'options.accessToken': accessToken,
      'options.appSecret': appSecret,
      'options.verifyToken': verifyToken,
      'options.mediaMode': mediaMode,
    },
    /** With the session's stored (non-secret) options, only the secrets are asked for; without, everything. */
    know(options) {
      known = options?.phoneNumberId ? options : undefined;
      for (const f of kept) f.hidden = Boolean(known);
    },
    /** The options for the API: what is typed, over what is known. */
    read: () => ({
      phoneNumberId: known ? known.phoneNumberId : phoneNumberId.value.trim(),
      accessToken: accessToken.value.trim(),
      appSecret: appSecret.value.trim(),
      verifyToken: known ? known.verifyToken : verifyToken.value.trim(),
      mediaMode: known ? known.mediaMode : mediaMode.value,
    }),
    clearSecrets() {
      accessToken.value = '';
      appSecret.value = '';
    },
    /** Ready for another session: empty, with a new verify token. */
    reset() {
      phoneNumberId.value = '';
      verifyToken.value = randomVerifyToken();
      mediaMode.value = 'upload';
    },
  };
};
