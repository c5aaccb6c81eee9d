import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, Reader, UserError } from '@platformatic/kafka';
import { kafkaCanRetry, kafkaFailureCauses } from '../../../src/bus/kafka/failures.js';

/** The error the library's wire reader throws when a response ends before its fields do. */
function outOfBounds(): Error {
  try {
    Reader.from(Buffer.alloc(2)).readInt32();
  } catch (err) {
    return err as Error;
  }
  assert.fail('reading 4 bytes out of 2 did not throw');
}

const refused = () =>
  new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

test('a produce whose response could not be read while the broker stopped is retried, not dropped', () => {
  // The tree @platformatic/kafka 1.35 gave for a produce in flight when a broker shut down: the
  // response to the first attempt ran off its end, the library's own three retries found the port closed.
  const err = new MultipleErrors('Producing messages failed.', [
    new MultipleErrors('produce failed 4 times.', [outOfBounds(), refused(), refused(), refused()]),
  ]);
  assert.equal(kafkaCanRetry(err), true);
  assert.equal(kafkaFailureCauses(err), 'OUT_OF_BOUNDS: Out of bounds.; ECONNREFUSED: connect ECONNREFUSED');
});

test('what the broker or the client refuses for good is not retried, even beside a network error', () => {
  const tooLarge = new MultipleErrors('Producing messages failed.', [new ProtocolError('MESSAGE_TOO_LARGE'), refused()]);
  assert.equal(kafkaCanRetry(tooLarge), false);
  assert.equal(kafkaCanRetry(new UserError('Failed to serialize a message.')), false);
  assert.equal(kafkaCanRetry(new AuthenticationError('SASL authentication failed.')), false);
  assert.equal(kafkaCanRetry(new TypeError('x is undefined')), false, 'an error that says nothing is a bug, not an outage');
  assert.equal(kafkaCanRetry(new MultipleErrors('Producing messages failed.', [refused(), new ProtocolError('NOT_LEADER_OR_FOLLOWER')])), true);
});
