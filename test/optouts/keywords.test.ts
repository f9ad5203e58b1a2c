import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeywordMatcher, DEFAULT_OPTOUT_KEYWORDS } from '../../src/optouts/keywords.js';
import { loadConfig } from '../../src/config.js';

const isDefault = createKeywordMatcher(DEFAULT_OPTOUT_KEYWORDS);

test('a keyword matches whatever its case, accents, width, surrounding spaces and punctuation', () => {
  for (const text of [
    'STOP',
    'stop',
    'Stop',
    ' stop\n',
    'Stop!',
    '¡BAJA!',
    'Arrêt',
    'ARRÊT.',
    'ｓｔｏｐ',
    'Stopp',
    'désabonner',
    '"quit"',
    'STOP 🛑',
  ]) {
    assert.equal(isDefault(text), true, JSON.stringify(text));
  }
});

test('only the whole message counts: a sentence, a longer word or two keywords do not opt out', () => {
  for (const text of [
    'please stop',
    'stop sending me this',
    "don't stop",
    'stopped',
    'unstoppable',
    'stop stop',
    'S T O P',
    '',
    '   ',
    '!',
  ]) {
    assert.equal(isDefault(text), false, JSON.stringify(text));
  }
});

test('configured keywords are compared the same way, spaces inside them made one; none configured matches nothing', () => {
  const matches = createKeywordMatcher(['Opt Out', 'ÄNDERN']);
  assert.equal(matches('opt   out'), true);
  assert.equal(matches('andern'), true);
  assert.equal(matches('stop'), false);
  assert.equal(createKeywordMatcher([])('stop'), false);
  assert.equal(createKeywordMatcher([' ', ''])(''), false);
});

test('OPTOUT_KEYWORDS and OPTOUT_CONFIRMATION: defaults, a list, empty turns keywords off', () => {
  assert.deepEqual(loadConfig({}).optOuts, { keywords: DEFAULT_OPTOUT_KEYWORDS, confirmation: undefined });
  assert.deepEqual(loadConfig({ OPTOUT_KEYWORDS: 'halt, Basta ,', OPTOUT_CONFIRMATION: ' Done. ' }).optOuts, {
    keywords: ['halt', 'Basta'],
    confirmation: 'Done.',
  });
  assert.deepEqual(loadConfig({ OPTOUT_KEYWORDS: '' }).optOuts.keywords, []);
});
