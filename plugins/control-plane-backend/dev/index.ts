// A minimal backend for working on this plugin alone: `yarn start` in this package.
//   curl http://localhost:7007/api/control-plane/health
import { createBackend } from '@backstage/backend-defaults';
import { mockServices } from '@backstage/backend-test-utils';

const backend = createBackend();
backend.add(mockServices.auth.factory());
backend.add(mockServices.httpAuth.factory());
backend.add(import('../src'));
backend.start();
