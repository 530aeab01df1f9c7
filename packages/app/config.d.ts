export interface Config {
  app?: {
    signIn?: {
      /**
       * The sign-in providers offered on the sign-in page: `guest` (local use), `oidc` (an
       * OpenID Connect provider configured under auth.providers.oidc).
       * @defaultValue ['guest']
       * @visibility frontend
       */
      providers?: Array<'guest' | 'oidc'>;
    };
  };
}
