/*
 * The example backend: a stock Backstage backend with the control plane installed the way an
 * adopter would install it, one `backend.add` per package (listed in ./features).
 */
import { createBackend } from '@backstage/backend-defaults';
import { backstageFeatures, controlPlaneFeatures } from './features';

const backend = createBackend();
for (const feature of [...backstageFeatures, ...controlPlaneFeatures]) {
  backend.add(feature());
}
backend.start();
