// The smallest command-line settings the CLI tests run with, shared so that every test of a
// command exercises the same tiny run.

/** pretrain at 16 px (SSIM's window needs 11): 2-pair batches, 4 training and 2 evaluation pairs, evaluated every update in 2 DDIM steps. */
export const TINY_PRETRAIN: readonly string[] = [
  '--size',
  '16',
  '--batch',
  '2',
  '--warmup',
  '1',
  '--train-count',
  '4',
  '--eval-count',
  '2',
  '--eval-every',
  '1',
  '--eval-steps',
  '2',
];

/** An LRPO group of 2 samples of 1 input, 4 sampling steps (a divisor of T = 1000). */
export const TINY_GROUP: readonly string[] = ['--group', '2', '--inputs', '1', '--sampling-steps', '4'];
