// The tags that split a run's root key into independent streams (foldIn(key, tag)), one per
// purpose, named in one place. The values are the ones every committed checkpoint, pinned test and
// report was made with: changing one changes every result drawn from it.
export const STREAMS = Object.freeze({
  /** SFT's per-epoch batch order: foldIn(foldIn(root, sftBatchOrder), epoch). */
  sftBatchOrder: 1 << 20,
  /** LRPO's per-epoch order of LQ inputs: foldIn(foldIn(root, lrpoInputOrder), epoch). */
  lrpoInputOrder: 1 << 21,
  /** The shuffled-rewards control: which sample gets which reward, from the step's sample key. */
  shuffledRewards: 7,
  /** The subset of trained steps an update trains (stepsPerUpdate), from the step's noise key. */
  updateStepSubset: 0x57e9,
  /** The policy's initial params of `pretrain`, from the run's seed. */
  pretrainInit: 7,
  /** Which images of a folder an evaluation set takes, from its seed. */
  evalSetChoice: 0x5e7,
});

export type StreamName = keyof typeof STREAMS;
