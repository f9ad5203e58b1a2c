import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasenderStatus, WASENDER_STATUSES } from '../../src/wasender/status.js';

test("every hashsend session state reads as one of WASenderApi's statuses; a session not asked to link reads disconnected; an owner's disconnect is not the phone's logout", () => {
  const cases: [Parameters<typeof wasenderStatus>[0], boolean, string][] = [
    ['connected', false, 'connected'],
    ['qr', false, 'need_scan'],
    ['needs_relink', false, 'need_scan'],
    ['starting', false, 'connecting'],
    ['reconnecting', false, 'connecting'],
    ['logged_out', false, 'logged_out'],
    ['logged_out', true, 'disconnected'],
    // New, or disconnected by its owner: `disconnected` until `connect`, whatever QR hashsend already shows.
    ['qr', true, 'disconnected'],
    ['starting', true, 'disconnected'],
    ['needs_relink', true, 'disconnected'],
    ['conflict', false, 'disconnected'],
    ['stopped', false, 'disconnected'],
    // Once the owner links it again the flag no longer hides what it is.
    ['connected', true, 'connected'],
  ];
  for (const [state, disconnected, expected] of cases) {
    const status = wasenderStatus(state, disconnected);
    assert.equal(status, expected, `${state}${disconnected ? ' (disconnected)' : ''}`);
    assert.ok((WASENDER_STATUSES as readonly string[]).includes(status));
  }
});
