import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { printable } from '../../src/core/printable.js';

test('printable escapes controls, separators and bidi overrides; leaves other text alone', () => {
  assert.is(printable('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  assert.is(printable('\u001b[31mred\u007f\u0085'), '\\x1b[31mred\\x7f\\x85');
  assert.is(printable('x\u2028y\u202ez\u2067'), 'x\\u2028y\\u202ez\\u2067');
  const plain = 'ünïcödé ☃ 日本 \\ "quoted" \uFFFD';
  assert.is(printable(plain), plain);
});

test.run();
