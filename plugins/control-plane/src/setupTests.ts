import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// findBy* and waitFor wait up to 5 s, not 1 s: the whole suite runs the backend's PostgreSQL
// tests beside these on two cores, where the first render of a tab can take over a second.
configure({ asyncUtilTimeout: 5000 });
