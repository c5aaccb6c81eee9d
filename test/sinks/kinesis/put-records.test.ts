import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../../src/core/errors.js';
import { classify } from '../../../src/sinks/kinesis/put-records.js';

/** SDK errors in the shapes @aws-sdk/client-kinesis throws (name, code, $metadata.httpStatusCode). */
const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} message`), { name, ...extra });

test('SDK errors map to a bounded reason; only those a retry can help are retryable (TF_SINK_UNAVAILABLE vs TF_SINK_REJECTED)', () => {
  const cases: [unknown, string, boolean][] = [
    [sdkError('ProvisionedThroughputExceededException', { $metadata: { httpStatusCode: 400 } }), 'throttled', true],
    [sdkError('LimitExceededException', { $metadata: { httpStatusCode: 400 } }), 'throttled', true],
    // The SDK names a reset connection a TimeoutError: the code says what it was.
    [sdkError('TimeoutError', { code: 'ECONNRESET' }), 'network', true],
    [sdkError('Error', { code: 'ECONNREFUSED' }), 'network', true],
    [sdkError('TimeoutError', { code: 'ETIMEDOUT' }), 'timeout', true],
    [sdkError('ServiceUnavailableException', { $metadata: { httpStatusCode: 503 } }), 'http_5xx', true],
    [sdkError('InternalFailure', { $metadata: { httpStatusCode: 500 } }), 'http_5xx', true],
    [sdkError('ResourceNotFoundException', { $metadata: { httpStatusCode: 400 } }), 'rejected', false],
    [sdkError('AccessDeniedException', { $metadata: { httpStatusCode: 400 } }), 'rejected', false],
    [sdkError('CredentialsProviderError'), 'rejected', false],
  ];
  for (const [err, reason, canRetry] of cases) {
    const out = classify(err);
    const label = `${(err as Error).name}/${String((err as { code?: string }).code)}`;
    assert.equal(out.reason, reason, label);
    assert.equal(out.canRetry, canRetry, label);
    assert.equal(out.code, canRetry ? ErrorCodes.SINK_UNAVAILABLE : ErrorCodes.SINK_REJECTED, label);
    assert.equal(out.cause, err);
  }
});
