/**
 * The line each bench script ends with, so that bench/run.ts can print every figure beside its baseline:
 * `RESULT <json>` on stdout.
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  baseline?: string;
  baselineValue?: number;
  goal?: string;
}

export interface BenchResult {
  bench: string;
  figures: Figure[];
}

export const RESULT_PREFIX = 'RESULT ';

export const printResult = (bench: string, figures: Figure[]): void => {
  const result: BenchResult = { bench, figures };
  console.log(`${RESULT_PREFIX}${JSON.stringify(result)}`);
};
