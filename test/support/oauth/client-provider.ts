/**
 * The client half of the OAuth fixtures: an in-memory `OAuthClientProvider` (the SDK 1.x
 * client/auth.ts interface) and `connectWithOAuth`, the whole dance with the SDK `Client`
 * and `StreamableHTTPClientTransport({ authProvider })`:
 *
 *   initialize → 401 + WWW-Authenticate resource_metadata → RFC 9728 metadata → RFC 8414
 *   metadata → dynamic registration → /authorize (followed here, no browser) → code →
 *   `transport.finishAuth(code)` (token request with the PKCE verifier) → a new transport
 *   initializes with the bearer token.
 *
 * The redirect URL, http://127.0.0.1/callback, is never listened on: `redirectToAuthorization`
 * fetches the authorization URL itself with `redirect: 'manual'` and takes the code from the
 * Location header, as a browser would hand it to the callback.
 */
import { randomBytes } from 'node:crypto';
import {
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

export const TEST_REDIRECT_URL = 'http://127.0.0.1/callback';

export interface TestOAuthClientProviderOptions {
  /** Sent as `login_hint` on the authorization request: whom the fixture AS authorizes. Default: none (the AS decides). */
  user?: string;
  /**
   * RFC 7591 `token_endpoint_auth_method`. Default 'none' (a public client, PKCE only);
   * 'client_secret_post' registers a confidential client (the SDK's AS handlers do not read
   * HTTP Basic credentials, so client_secret_basic is not offered).
   */
  tokenEndpointAuthMethod?: 'none' | 'client_secret_post';
  /** Registered `client_name`. Default 'mcp-shepherd-test-client' (plus the user, if any). */
  clientName?: string;
  /** Registered `scope` (the SDK prefers WWW-Authenticate's scope, then the metadata's scopes_supported). */
  scope?: string;
}

/** The outcome of the last authorization request the provider followed. */
export interface AuthorizationOutcome {
  url: URL;
  status: number;
  /** The code the redirect carried. */
  code: string | undefined;
  /** `error` / `error_description` from the redirect, when the AS refused. */
  error: string | undefined;
}

export class TestOAuthClientProvider implements OAuthClientProvider {
  readonly user: string | undefined;
  /** Every token set saved, oldest first: `savedTokens.at(-1)` is what `tokens()` returns. */
  readonly savedTokens: OAuthTokens[] = [];
  /** Every authorization request followed, oldest first. */
  readonly authorizations: AuthorizationOutcome[] = [];
  /** What `invalidateCredentials` was called with, oldest first. */
  readonly invalidations: string[] = [];
  private information: OAuthClientInformationMixed | undefined;
  private current: OAuthTokens | undefined;
  private verifier: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  private expectedState: string | undefined;
  private pendingCode: string | undefined;
  private readonly metadata: OAuthClientMetadata;

  constructor(options: TestOAuthClientProviderOptions = {}) {
    this.user = options.user;
    this.metadata = {
      client_name: options.clientName ?? `mcp-shepherd-test-client${options.user ? ` (${options.user})` : ''}`,
      redirect_uris: [TEST_REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? 'none',
      ...(options.scope === undefined ? {} : { scope: options.scope }),
    };
  }

  get redirectUrl(): string {
    return TEST_REDIRECT_URL;
  }

  get clientMetadata(): OAuthClientMetadata {
    return this.metadata;
  }

  state(): string {
    this.expectedState = randomBytes(16).toString('base64url');
    return this.expectedState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }

  // Stored unchanged: SDK 1.32 stamps `issuer` on what it saves and compares it on the next use.
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.current;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.current = tokens;
    this.savedTokens.push(tokens);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error('no PKCE code verifier saved');
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    this.invalidations.push(scope);
    if (scope === 'all' || scope === 'client') this.information = undefined;
    if (scope === 'all' || scope === 'tokens') this.current = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  /** Plays the user agent: asks the AS (with `login_hint` = user), keeps the code its redirect carries. */
  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const url = new URL(authorizationUrl.href);
    if (this.user !== undefined) url.searchParams.set('login_hint', this.user);
    const response = await fetch(url, { redirect: 'manual' });
    await response.body?.cancel();
    const location = response.headers.get('location');
    const outcome: AuthorizationOutcome = { url, status: response.status, code: undefined, error: undefined };
    this.authorizations.push(outcome);
    if (response.status !== 302 || !location) {
      throw new Error(`authorization request answered ${response.status} without a redirect`);
    }
    const callback = new URL(location);
    if (`${callback.origin}${callback.pathname}` !== TEST_REDIRECT_URL) {
      throw new Error(`authorization redirected to ${callback.href}, not the registered redirect URL`);
    }
    if (callback.searchParams.get('state') !== (this.expectedState ?? null)) {
      throw new Error('authorization response state does not match the request');
    }
    const error = callback.searchParams.get('error');
    if (error) {
      outcome.error = `${error}: ${callback.searchParams.get('error_description') ?? ''}`;
      throw new Error(`authorization refused: ${outcome.error}`);
    }
    const code = callback.searchParams.get('code');
    if (!code) throw new Error('authorization redirect carries no code');
    outcome.code = code;
    this.pendingCode = code;
  }

  /** The authorization code of the last redirect, once (then undefined). */
  takeAuthorizationCode(): string | undefined {
    const code = this.pendingCode;
    this.pendingCode = undefined;
    return code;
  }

  /** The current access token; throws when there is none. */
  get accessToken(): string {
    if (!this.current) throw new Error('no tokens saved yet');
    return this.current.access_token;
  }
}

export interface ConnectWithOAuthOptions {
  clientInfo?: { name: string; version: string };
  capabilities?: ConstructorParameters<typeof Client>[1];
  /** Passed to both transports (e.g. a recording fetch). */
  fetch?: typeof fetch;
}

/**
 * Connects an SDK 1.x client to `serverUrl` with OAuth: a first transport meets the 401 and
 * runs discovery, registration and authorization (the provider follows the redirect), then
 * `finishAuth(code)` exchanges the code for tokens and a second client and transport
 * initialize with them, as the SDK's simpleOAuthClient example does. With tokens already in
 * the provider, the first attempt simply succeeds.
 *
 * When it resolves, the SDK has sent notifications/initialized but may not have opened its
 * GET stream yet (it does not await it): a test that expires or revokes tokens right away
 * should first wait for that GET (e.g. in `ProtectedServer.requests`), or the GET's own 401
 * triggers a second, concurrent refresh.
 */
export async function connectWithOAuth(
  serverUrl: string | URL,
  provider: TestOAuthClientProvider,
  options: ConnectWithOAuthOptions = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const url = new URL(serverUrl);
  const attempt = async () => {
    const client = new Client(
      options.clientInfo ?? { name: 'oauth-test-client', version: '1.0.0' },
      options.capabilities,
    );
    const transport = new StreamableHTTPClientTransport(url, {
      authProvider: provider,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return { client, transport };
  };
  const first = await attempt();
  try {
    await first.client.connect(first.transport);
    return first;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  const code = provider.takeAuthorizationCode();
  if (code === undefined) throw new Error('the authorization flow ended without an authorization code');
  await first.transport.finishAuth(code);
  await first.client.close();
  const second = await attempt();
  await second.client.connect(second.transport);
  return second;
}
