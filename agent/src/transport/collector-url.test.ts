import { describe, expect, it } from 'vitest';
import { agentUrl, upgradeRefusal } from './collector-url.js';

describe('--collector address', () => {
  it.each([
    ['ws://c:7711', 'ws://c:7711/agent'],
    ['ws://c:7711/', 'ws://c:7711/agent'],
    ['ws://c:7711/agent', 'ws://c:7711/agent'],
    ['ws://c:7711/agent/', 'ws://c:7711/agent'],
    ['http://c:7711', 'ws://c:7711/agent'],
    ['https://c:7711/agent', 'wss://c:7711/agent'],
    ['wss://proxy.example/stagewatch', 'wss://proxy.example/stagewatch/agent'],
    ['wss://proxy.example/stagewatch/agent', 'wss://proxy.example/stagewatch/agent'],
  ])('%s → %s', (given, url) => {
    expect(agentUrl(given)).toBe(url);
  });

  it.each([
    ['collector:7711', /must be ws:\/\/, wss:\/\/, http:\/\/ or https:\/\//],
    ['not a url', /is not a URL/],
    ['ws://c:7711/?token=x', /without \?query/],
  ])('refuses %s', (given, message) => {
    expect(() => agentUrl(given)).toThrow(message);
  });
});

describe('an HTTP answer to the upgrade', () => {
  it('names the setting to fix for 401 and 404, and stops retrying', () => {
    expect(upgradeRefusal(401, 'ws://c/agent')).toEqual({ permanent: true, message: expect.stringMatching(/refused the token \(HTTP 401\): .*--token or STAGEWATCH_TOKEN/) });
    expect(upgradeRefusal(404, 'ws://c/x/agent')).toEqual({ permanent: true, message: expect.stringMatching(/nothing at ws:\/\/c\/x\/agent \(HTTP 404\): --collector must be/) });
    expect(upgradeRefusal(403, 'u').permanent).toBe(true);
    expect(upgradeRefusal(400, 'u').permanent).toBe(true);
  });

  it('retries what may pass: 408, 429 and 5xx', () => {
    for (const status of [408, 429, 500, 502, 503]) expect(upgradeRefusal(status, 'u').permanent, String(status)).toBe(false);
  });
});
