export * from './judge';
export type { MannWhitneyAlternative, MannWhitneyResult } from './mannWhitney';
export { mannWhitneyU } from './mannWhitney';
