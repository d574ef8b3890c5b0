import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsIn } from '../src/redact-url.js';

/** Every URL the program prints or logs goes through redactUrl: what it keeps, and what never gets through. */

describe('redactUrl', () => {
  it.each([
    // A password holding the characters that end a user part elsewhere, or written percent-encoded.
    ['redis://:p@ss:w0rd@host:6379/0', 'redis://***@host:6379/0', ['p@ss', 'w0rd']],
    ['redis://user:p%40ss@host', 'redis://***@host', ['p%40ss', 'user']],
    ['redis://default:pa/ss@host:6379', 'redis://***@host:6379', ['pa/ss']],
    ['redis://default:pa#ss@host:6379/2', 'redis://***@host:6379/2', ['pa#ss']],
    ['redis://default:pa?ss@host', 'redis://***@host', ['pa?ss']],
    ['rediss://default:a:b:c@host:6380', 'rediss://***@host:6380', ['a:b:c']],
    // A name alone in the user part is often a token.
    ['https://ghp_abc123@api.example.com/v2', 'https://***@api.example.com/v2', ['ghp_abc123']],
    // Secret query parameters, the fragment, and what is left alone.
    ['https://user:pw@api.example.com/v2?token=abc&x=1#frag', 'https://***@api.example.com/v2?token=***&x=1', ['pw', 'abc', 'frag']],
    ['redis://host:6379?PassWord=hunter2&db=3', 'redis://host:6379?PassWord=***&db=3', ['hunter2']],
    ['rediss://host?password=s3cret', 'rediss://host?password=***', ['s3cret']],
    ['https://h/p?%70assword=pct&access_token=at&X-Amz-Signature=sg&accountPin=4321&api_key=ak&sig=s1&keep=ok', 'https://h/p?%70assword=***&access_token=***&X-Amz-Signature=***&accountPin=***&api_key=***&sig=***&keep=ok', ['pct', '=at', 'sg', '4321', 'ak', 's1']],
    ['https://h/p?pass+word=spaced&idempotencyKey=k-1', 'https://h/p?pass+word=***&idempotencyKey=k-1', ['spaced']],
    ['https://h/p?token=a#b@c', 'https://***@c', ['a#b']],
  ])('%s → %s', (url, shown, secrets) => {
    const redacted = redactUrl(url);
    expect(redacted).toBe(shown);
    for (const secret of secrets) expect(redacted).not.toContain(secret);
  });

  it('prints a URL with nothing secret exactly as given (no slash added, nothing re-encoded)', () => {
    for (const url of ['http://127.0.0.1:4100', 'redis://127.0.0.1:6379', 'https://api.example.com/v2/?x=%20y', 'http://[::1]:4100']) expect(redactUrl(url)).toBe(url);
  });

  it('never throws on a string that is no URL, and still masks what looks like a user part', () => {
    expect(redactUrl('user:pw@host:6379')).toBe('***@host:6379');
    expect(redactUrl('not a url at all')).toBe('not a url at all');
    expect(redactUrl('')).toBe('');
    expect(redactUrl('https://h/p?%E0%A4%A=bad-escape&%zz=1')).toBe('https://h/p?%E0%A4%A=bad-escape&%zz=1');
    expect(redactUrl('http://')).toBe('http://');
  });
});

describe('redactUrlsIn', () => {
  it('redacts every URL inside a text, and leaves file: paths (stack frames) and the rest as written', () => {
    const text = 'Redis at redis://:p@ss@10.0.0.1:6379 refused; "https://u:pw@h/x?token=t" (at file:///app/node_modules/@scope/pkg/index.js:1:2)';
    expect(redactUrlsIn(text)).toBe('Redis at redis://***@10.0.0.1:6379 refused; "https://***@h/x?token=***" (at file:///app/node_modules/@scope/pkg/index.js:1:2)');
  });
});
