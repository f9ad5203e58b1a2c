// The "New session" form: an id, a driver and, for the Cloud API, the options Meta gave the operator. A 400 names
// the field it is about next to that field.
import { api } from './api.js';
import { $, showFieldErrors, showFormError, toast } from './dom.js';
import { cloudFields } from './cloud-fields.js';

/** `onCreated(session)` with the server's answer. */
export const wireCreateForm = ({ onCreated }) => {
  const form = $('create-form');
  const driver = $('new-driver');
  const cloud = cloudFields('new-cloud');
  cloud.el.id = 'new-cloud';
  const controls = { id: $('new-id'), ...cloud.controls };

  // Out of the document, not just hidden, for the other drivers: its labels ("Phone number id") stay unambiguous.
  const showDriver = () => {
    if (driver.value === 'cloud') return $('create-error').before(cloud.el);
    cloud.clearSecrets();
    cloud.el.remove();
  };
  driver.addEventListener('change', () => {
    showDriver();
    showFieldErrors(controls, undefined);
  });
  showDriver();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    const id = $('new-id').value.trim();
    const isCloud = driver.value === 'cloud';
    const body = { driver: driver.value, ...(id ? { id } : {}), ...(isCloud ? { options: cloud.read() } : {}) };
    // Typed once, sent once: a second try means typing them again, and they are never left in the page.
    cloud.clearSecrets();
    button.disabled = true;
    showFormError($('create-error'), undefined);
    showFieldErrors(controls, undefined);
    try {
      const created = await api('/api/sessions', { method: 'POST', body });
      $('new-id').value = '';
      if (isCloud) cloud.reset();
      toast(`Session ${created.id} created`);
      await onCreated(created);
    } catch (err) {
      const placed = showFieldErrors(controls, err);
      const plural = placed && err.details.issues.length > 1 ? 's' : '';
      showFormError($('create-error'), placed ? new Error(`Check the marked field${plural} (${err.code})`) : err);
    } finally {
      button.disabled = false;
    }
  });
};
