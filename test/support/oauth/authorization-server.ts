/**
 * An OAuth 2.1 authorization server for tests, on 127.0.0.1 with an ephemeral port: the
 * official SDK's `mcpAuthRouter` (RFC 8414 metadata, RFC 7591 dynamic client registration,
 * /authorize, /token, /revoke) in front of an in-memory `OAuthServerProvider`.
 *
 * - /authorize approves at once (there is no login page): it redirects to the client's
 *   redirect_uri with a code. The user is the request's `login_hint` if it has one (the test
 *   client provider sends its user that way), otherwise the one set with `asUser(name)`.
 * - /token serves `authorization_code` (the SDK's token handler checks PKCE S256 against the
 *   challenge this provider kept) and `refresh_token` (a new JWT for the same subject; the
 *   refresh token rotates, as OAuth 2.1 §4.3.1 requires for public clients).
 * - Access tokens are HS256 JWTs (RFC 9068 `at+jwt`) with iss = `issuer`, sub = the user,
 *   aud = the RFC 8707 `resource` the client asked for, exp, iat, jti, scope, client_id.
 *   `verifyAccessToken` is what a resource server gives the SDK's `requireBearerAuth`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import {
  InvalidGrantError,
  InvalidScopeError,
  InvalidTargetError,
  InvalidTokenError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type {
  AuthorizationParams,
  OAuthServerProvider,
  OAuthTokenVerifier,
} from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type {
  OAuthClientInformationFull,
  OAuthTokenRevocationRequest,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import express, { type Response } from 'express';
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export interface AuthorizationServerOptions {
  /** Lifetime of an access token in seconds (its exp − iat). Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Whom an authorization is for when the request has no `login_hint`. Default 'alice'. */
  defaultUser?: string;
  /** Scopes the metadata advertises and a token may carry; granted when none is asked for. Default ['mcp']. */
  scopesSupported?: string[];
  /** A refresh returns a new refresh token and retires the old one. Default true (OAuth 2.1 §4.3.1). */
  rotateRefreshTokens?: boolean;
}

/** The claims of an access token this server signs. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  /** The RFC 8707 resource the token is for; absent when the client named none. */
  aud?: string;
  exp: number;
  iat: number;
  jti: string;
  scope: string;
  client_id: string;
}

/** One access token issued, in order. */
export interface IssuedToken {
  grant: 'authorization_code' | 'refresh_token';
  accessToken: string;
  claims: AccessTokenClaims;
}

export interface AuthorizationServerCounters {
  /** Clients registered through /register. */
  registrations: number;
  /** Authorization codes handed out by /authorize. */
  authorizations: number;
  /** authorization_code grants that issued tokens. */
  codeExchanges: number;
  /** refresh_token grants that issued tokens. */
  refreshes: number;
  /** Access tokens issued by either grant. */
  tokensIssued: number;
  /** Tokens revoked through /revoke. */
  revocations: number;
}

/** The fields of `AuthInfo.extra` that `verifyAccessToken` fills in. */
export interface AccessTokenExtra {
  sub: string;
  jti: string;
  iat: number;
}

interface CodeGrant {
  clientId: string;
  sub: string;
  scopes: string[];
  codeChallenge: string;
  redirectUri: string;
  resource: string | undefined;
  expiresAt: number;
}

interface RefreshGrant {
  clientId: string;
  sub: string;
  scopes: string[];
  resource: string | undefined;
}

const CODE_TTL_MS = 60_000;

function stringParam(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value: unknown = (source as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The `resource` as the client sent it (RFC 8707), compared without a fragment or one trailing slash. */
function sameResource(a: string, b: string): boolean {
  const comparable = (value: string) => value.replace(/#.*$/, '').replace(/\/$/, '');
  return comparable(a) === comparable(b);
}

class InMemoryClientsStore implements OAuthRegisteredClientsStore {
  readonly clients = new Map<string, OAuthClientInformationFull>();

  constructor(private readonly onRegister: () => void) {}

  getClient(clientId: string): OAuthClientInformationFull | undefined {
    return this.clients.get(clientId);
  }

  registerClient(client: Omit<OAuthClientInformationFull, 'client_id' | 'client_id_issued_at'>) {
    // The SDK's registration handler has already generated client_id (clientIdGeneration defaults to true).
    const full = client as OAuthClientInformationFull;
    this.clients.set(full.client_id, full);
    this.onRegister();
    return full;
  }
}

/** The in-memory provider behind the SDK's router; the fixture class below owns one. */
class InMemoryOAuthProvider implements OAuthServerProvider {
  readonly clientsStore: InMemoryClientsStore;
  private readonly codes = new Map<string, CodeGrant>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /** jti of access tokens that verifyAccessToken rejects as expired or revoked, with why. */
  readonly rejected = new Map<string, string>();

  constructor(private readonly fixture: AuthorizationServer) {
    this.clientsStore = new InMemoryClientsStore(() => fixture.counters.registrations++);
  }

  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Response): Promise<void> {
    const scopes = this.fixture.grantScopes(params.scopes ?? []);
    // `login_hint` (OpenID Connect Core §3.1.2.1) is not among the SDK's AuthorizationParams: read it off the request.
    const request = res.req;
    const sub =
      stringParam(request.method === 'POST' ? request.body : request.query, 'login_hint') ?? this.fixture.currentUser;
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, {
      clientId: client.client_id,
      sub,
      scopes,
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      resource: params.resource?.href,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    this.fixture.counters.authorizations++;
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(302, target.href);
  }

  async challengeForAuthorizationCode(client: OAuthClientInformationFull, authorizationCode: string): Promise<string> {
    return this.liveCode(client, authorizationCode).codeChallenge;
  }

  async exchangeAuthorizationCode(
    client: OAuthClientInformationFull,
    authorizationCode: string,
    _codeVerifier?: string,
    redirectUri?: string,
    resource?: URL,
  ): Promise<OAuthTokens> {
    // The SDK's token handler has already checked the PKCE verifier against challengeForAuthorizationCode.
    const grant = this.liveCode(client, authorizationCode);
    this.codes.delete(authorizationCode); // single use (OAuth 2.1 §4.1.3)
    if (redirectUri !== undefined && redirectUri !== grant.redirectUri) {
      throw new InvalidGrantError('redirect_uri differs from the one in the authorization request');
    }
    const audience = this.audience(grant.resource, resource);
    this.fixture.counters.codeExchanges++;
    return this.issue(client, grant.sub, grant.scopes, audience, 'authorization_code');
  }

  async exchangeRefreshToken(
    client: OAuthClientInformationFull,
    refreshToken: string,
    scopes?: string[],
    resource?: URL,
  ): Promise<OAuthTokens> {
    const grant = this.refreshTokens.get(refreshToken);
    if (!grant || grant.clientId !== client.client_id) throw new InvalidGrantError('Unknown refresh token');
    const narrowed = scopes && scopes.length > 0 ? scopes : grant.scopes;
    const extra = narrowed.filter((scope) => !grant.scopes.includes(scope));
    if (extra.length > 0) throw new InvalidScopeError(`Scopes not granted originally: ${extra.join(' ')}`);
    const audience = this.audience(grant.resource, resource);
    if (this.fixture.rotateRefreshTokens) this.refreshTokens.delete(refreshToken);
    this.fixture.counters.refreshes++;
    const tokens = await this.issue(client, grant.sub, narrowed, audience, 'refresh_token');
    if (!this.fixture.rotateRefreshTokens) delete tokens.refresh_token; // the client keeps the one it has
    return tokens;
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    return this.fixture.verifyAccessToken(token);
  }

  async revokeToken(client: OAuthClientInformationFull, request: OAuthTokenRevocationRequest): Promise<void> {
    const refresh = this.refreshTokens.get(request.token);
    if (refresh) {
      if (refresh.clientId !== client.client_id) return;
      this.refreshTokens.delete(request.token);
      this.fixture.counters.revocations++;
      return;
    }
    try {
      const claims = decodeJwt(request.token);
      if (claims.client_id === client.client_id && typeof claims.jti === 'string') {
        this.rejected.set(claims.jti, 'Token has been revoked');
        this.fixture.counters.revocations++;
      }
    } catch {
      // Not a token of ours: RFC 7009 §2.2 answers 200 all the same.
    }
  }

  private liveCode(client: OAuthClientInformationFull, code: string): CodeGrant {
    const grant = this.codes.get(code);
    if (!grant || grant.clientId !== client.client_id) throw new InvalidGrantError('Unknown authorization code');
    if (grant.expiresAt < Date.now()) {
      this.codes.delete(code);
      throw new InvalidGrantError('Authorization code expired');
    }
    return grant;
  }

  /** RFC 8707 §2.2: a token request may name a resource only if it is the one authorized. */
  private audience(granted: string | undefined, requested: URL | undefined): string | undefined {
    if (requested === undefined) return granted;
    if (granted !== undefined && !sameResource(granted, requested.href)) {
      throw new InvalidTargetError(`Resource ${requested.href} was not part of the authorization (${granted})`);
    }
    return requested.href;
  }

  private async issue(
    client: OAuthClientInformationFull,
    sub: string,
    scopes: string[],
    audience: string | undefined,
    grant: IssuedToken['grant'],
  ): Promise<OAuthTokens> {
    const ttl = this.fixture.accessTokenTtlSeconds;
    const scope = scopes.join(' ');
    const { accessToken, claims } = await this.fixture.sign({ sub, scope, clientId: client.client_id, audience, ttl });
    this.fixture.issued.push({ grant, accessToken, claims });
    this.fixture.counters.tokensIssued++;
    const tokens: OAuthTokens = { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope };
    // RFC 7591 §2: grant_types defaults to authorization_code only; refresh tokens go to clients that registered for them.
    if (client.grant_types?.includes('refresh_token')) {
      const refreshToken = randomBytes(32).toString('base64url');
      this.refreshTokens.set(refreshToken, { clientId: client.client_id, sub, scopes, resource: audience });
      tokens.refresh_token = refreshToken;
    }
    return tokens;
  }
}

export class AuthorizationServer implements OAuthTokenVerifier {
  /** The issuer URL, as the metadata and every token's `iss` spell it: `http://127.0.0.1:<port>/`. */
  readonly issuer: string;
  /** Where RFC 8414 metadata is served. */
  readonly metadataUrl: string;
  readonly counters: AuthorizationServerCounters = {
    registrations: 0,
    authorizations: 0,
    codeExchanges: 0,
    refreshes: 0,
    tokensIssued: 0,
    revocations: 0,
  };
  /** Every access token issued, oldest first. */
  readonly issued: IssuedToken[] = [];
  /** Every HTTP request received (method and path), oldest first: shows what discovery asked for. */
  readonly requests: { method: string; path: string }[] = [];
  readonly accessTokenTtlSeconds: number;
  readonly rotateRefreshTokens: boolean;
  readonly scopesSupported: string[];
  /** Whom an authorization without `login_hint` is for; change it with `asUser`. */
  currentUser: string;
  private readonly provider: InMemoryOAuthProvider;
  private readonly key = new Uint8Array(randomBytes(32));

  private constructor(
    private readonly http: Server,
    readonly port: number,
    options: AuthorizationServerOptions,
  ) {
    this.issuer = `http://127.0.0.1:${port}/`;
    this.metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-authorization-server`;
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 3600;
    this.rotateRefreshTokens = options.rotateRefreshTokens ?? true;
    this.scopesSupported = options.scopesSupported ?? ['mcp'];
    this.currentUser = options.defaultUser ?? 'alice';
    this.provider = new InMemoryOAuthProvider(this);
  }

  static async start(options: AuthorizationServerOptions = {}): Promise<AuthorizationServer> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const as = new AuthorizationServer(http, (http.address() as AddressInfo).port, options);
    const app = express();
    app.use((req, _res, next) => {
      as.requests.push({ method: req.method, path: req.path });
      next();
    });
    app.use(
      mcpAuthRouter({
        provider: as.provider,
        issuerUrl: new URL(as.issuer),
        scopesSupported: as.scopesSupported,
        // Tests make many requests from one address; the SDK's default limits would refuse some.
        authorizationOptions: { rateLimit: false },
        tokenOptions: { rateLimit: false },
        clientRegistrationOptions: { rateLimit: false },
        revocationOptions: { rateLimit: false },
      }),
    );
    http.on('request', app);
    return as;
  }

  /** Registered clients by client_id. */
  get clients(): ReadonlyMap<string, OAuthClientInformationFull> {
    return this.provider.clientsStore.clients;
  }

  /** Authorizations from now on without a `login_hint` are for `user` (sticky until changed). */
  asUser(user: string): this {
    this.currentUser = user;
    return this;
  }

  /**
   * RFC 9068-style validation of one of this server's access tokens: signature, `typ`, `iss`,
   * `exp`, and not expired or revoked by the knobs below. Audience is left to the resource
   * server (`requireBearerAuth({ expectedResource })` compares `resource`, taken from `aud`).
   * Failures are the SDK's `InvalidTokenError`, which `requireBearerAuth` answers with 401.
   */
  async verifyAccessToken(token: string): Promise<AuthInfo> {
    let claims: AccessTokenClaims;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: this.issuer,
        algorithms: ['HS256'],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      claims = payload as unknown as AccessTokenClaims;
    } catch (error) {
      throw new InvalidTokenError(
        error instanceof joseErrors.JWTExpired ? 'Token has expired' : 'Invalid access token',
      );
    }
    const rejected = this.provider.rejected.get(claims.jti);
    if (rejected) throw new InvalidTokenError(rejected);
    const extra: AccessTokenExtra = { sub: claims.sub, jti: claims.jti, iat: claims.iat };
    return {
      token,
      clientId: claims.client_id,
      scopes: claims.scope ? claims.scope.split(' ') : [],
      expiresAt: claims.exp,
      ...(claims.aud === undefined ? {} : { resource: new URL(claims.aud) }),
      extra: { ...extra },
    };
  }

  /** The claims of a token, without verifying it. */
  decode(token: string): AccessTokenClaims {
    return decodeJwt(token) as unknown as AccessTokenClaims;
  }

  /**
   * Every access token issued so far is expired from now on (verifyAccessToken says 'Token has
   * expired'), as if its exp had passed; refresh tokens stay valid. Tokens issued later are not
   * affected. This is how a test forces a refresh without waiting.
   */
  expireAccessTokens(): void {
    for (const { claims } of this.issued) this.provider.rejected.set(claims.jti, 'Token has expired');
  }

  /** Mints an access token directly (no grant, no counter): for tests that need one a client never asked for. */
  async mintAccessToken(claims: { sub: string; aud?: string; scope?: string; clientId?: string; ttl?: number }) {
    const { accessToken } = await this.sign({
      sub: claims.sub,
      scope: claims.scope ?? this.scopesSupported.join(' '),
      clientId: claims.clientId ?? 'minted',
      audience: claims.aud,
      ttl: claims.ttl ?? this.accessTokenTtlSeconds,
    });
    return accessToken;
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** @internal The scopes an authorization gets: those asked for, all of them supported, or the supported ones. */
  grantScopes(requested: string[]): string[] {
    const asked = requested.filter((scope) => scope !== '');
    if (asked.length === 0) return [...this.scopesSupported];
    const unknown = asked.filter((scope) => !this.scopesSupported.includes(scope));
    if (unknown.length > 0) throw new InvalidScopeError(`Unknown scopes: ${unknown.join(' ')}`);
    return asked;
  }

  /** @internal */
  async sign(input: { sub: string; scope: string; clientId: string; audience: string | undefined; ttl: number }) {
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.issuer,
      sub: input.sub,
      ...(input.audience === undefined ? {} : { aud: input.audience }),
      exp: iat + input.ttl,
      iat,
      jti: randomUUID(),
      scope: input.scope,
      client_id: input.clientId,
    };
    const accessToken = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(this.key);
    return { accessToken, claims };
  }
}
