import { HumanDuration } from '@backstage/types';

export interface Config {
  controlPlane?: {
    /**
     * The `opa` policy evaluator: every change of desired state the control plane is about to
     * commit (create, update, delete) and every operation it is about to start is also decided
     * by a policy in Open Policy Agent, through OPA's Data API (`POST
     * {baseUrl}/v1/data/{policyPath}` with the policy input document). Placement is not.
     */
    opa?: {
      /**
       * OPA's base URL, e.g. `http://localhost:8181` (a path prefix, for OPA behind a gateway,
       * is kept). Required to enable the evaluator.
       * @defaultValue none: without it the module adds no evaluator and logs that OPA is not
       * configured
       */
      baseUrl?: string;
      /**
       * The path of the policy's package in OPA's Data API, slash-separated as in the URL:
       * `idp/controlplane` is package `idp.controlplane`. Its document is read for `allow`
       * (boolean) and `deny` (strings, or objects with `code`, `message`, `field`, `status`).
       * @defaultValue idp/controlplane
       */
      policyPath?: string;
      /**
       * A bearer token sent as `Authorization: Bearer <token>`, for an OPA started with
       * `--authentication=token`. Never logged.
       * @defaultValue none: no Authorization header
       * @visibility secret
       */
      token?: string;
      /**
       * How long to wait for OPA's answer (connection, evaluation and body) before treating OPA
       * as unavailable: a HumanDuration such as `{ milliseconds: 500 }`, or a string such as
       * `500ms`, `2s` or `PT2S`.
       * @defaultValue 2 seconds
       */
      timeout?: HumanDuration | string;
      /**
       * What happens when OPA cannot be asked: it is unreachable, does not answer within
       * `timeout`, answers with an error status (5xx, or 4xx such as a rejected token) or with a
       * document that is not a policy decision. `closed` refuses the request (violation
       * `opa.unavailable`); `open` lets it through, with a reason in the decision that OPA
       * could not be asked.
       * @defaultValue closed
       */
      failureMode?: 'closed' | 'open';
    };
  };
}
