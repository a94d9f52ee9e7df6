/**
 * Which web pages may open a WebSocket to the server. Browsers send the page's origin with every
 * WebSocket upgrade and let any page connect anywhere, so without this check a page from any
 * site could use a browser on the server's machine to reach a loopback listener. Only the Origin
 * header is compared, with an allow-list: never with the request's Host, which a DNS-rebinding
 * page controls.
 */
import { ConfigurationError } from '../errors.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * `text` as an origin (`scheme://host[:port]`, lower case, default port dropped).
 * @throws ConfigurationError if it is not one.
 */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(`not an origin: ${JSON.stringify(text)} (expected e.g. https://app.example.com)`);
  }
  if (url.origin === 'null' || url.pathname.length > 1 || url.search !== '' || url.username !== '') {
    throw new ConfigurationError(`not an origin: ${JSON.stringify(text)} (scheme, host and port only, e.g. https://app.example.com:8443)`);
  }
  return url.origin;
}

/**
 * Whether an upgrade carrying `origin` (the header, if any) is accepted by a listener on
 * `ownPort`: no Origin (not a browser), the listener's own loopback origins, or one of `allowed`
 * (normalized with {@link normalizeOrigin}).
 */
export function isAllowedOrigin(origin: string | undefined, ownPort: number, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (allowed.includes(url.origin)) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname) && Number(url.port) === ownPort;
}
