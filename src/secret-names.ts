/**
 * Whether a field or parameter name says its value is a credential: every provider's credential
 * keys (providers/*.ts: CT Payer's and PT API's password, ONTRAPORT's appid and key, ClientPay's
 * integratorKey, accountKey and accountPin, VirtualRx's token), what providers hand out (PT API's
 * token, ClientPay's accessId), and the usual names for the same in HTTP and URLs. The name is
 * compared in lower case without separators, so `PassWord`, `access_token` and `X-Api-Key` count.
 * Usernames do not: they say who, not how to sign in.
 */
export function isSecretName(name: string): boolean {
  const plain = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_NAMES.has(plain) || SECRET_ENDINGS.some((ending) => plain.endsWith(ending));
}

/** Secret only as the whole name: as an ending they would catch `idempotencyKey` or `spin`. */
const SECRET_NAMES = new Set(['key', 'pass', 'pwd', 'pin', 'sig', 'otp', 'jwt', 'appid', 'accessid', 'session', 'sessionid', 'cookie', 'setcookie']);

/** Secret wherever the name ends with them: `accountPin`, `X-Amz-Signature`, `clientSecret`. */
const SECRET_ENDINGS = [
  'password', 'passwd', 'passphrase', 'token', 'secret', 'signature', 'apikey', 'accesskey', 'accountkey',
  'integratorkey', 'privatekey', 'secretkey', 'accountpin', 'auth', 'authorization', 'credential', 'credentials',
];
