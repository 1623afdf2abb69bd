import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, USAGE } from '../src/config.ts';

// The leaking-server fixture of the soak tests must never reach a user by accident.

describe('test-only flags', () => {
  it('the leak fixture is off by default, absent from --help and not read from the environment', () => {
    assert.equal(loadConfig([], {}).testLeakKibPerMessage, undefined);
    assert.doesNotMatch(USAGE, /leak/i);
    assert.throws(() => loadConfig(['--help'], {}), (e: Error) => e instanceof ConfigError && !/leak/i.test(e.message));
    assert.equal(loadConfig([], { CHATSTORM_TEST_LEAK_KIB_PER_MESSAGE: '1024', TEST_LEAK_KIB_PER_MESSAGE: '1024' }).testLeakKibPerMessage, undefined);
  });

  it('switched on only by its flag, with a clear error for a bad value', () => {
    assert.equal(loadConfig(['--test-leak-kib-per-message', '64'], {}).testLeakKibPerMessage, 64);
    assert.throws(() => loadConfig(['--test-leak-kib-per-message', 'lots'], {}), /--test-leak-kib-per-message: /);
  });
});
